"""Risk control: scores with reasons, rules with backtests, fraud rings, a review queue and
real-time scoring (see docs/risk.md)."""
