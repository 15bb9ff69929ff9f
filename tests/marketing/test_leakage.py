"""Post-treatment and identifier columns found from the data, whatever their names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.marketing.leakage import post_treatment_columns


def _campaign(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.5
    age = rng.integers(18, 80, n)
    converted = (rng.random(n) < 0.05 + 0.03 * treated + 0.001 * (age - 18)).astype(int)
    exposure = (treated & (rng.random(n) < 0.2)).astype(int)  # only a treated row is exposed
    return pd.DataFrame(
        {
            "Kundennummer": rng.permutation(np.arange(100_000, 100_000 + n)),
            "Email_hash": [f"h_{rng.integers(1 << 60):x}" for _ in range(n)],
            "Kauf": np.where(converted == 1, "ja", "nein"),  # the outcome again, in German
            "Umsatz_EUR": converted * rng.gamma(2.0, 40.0, n),
            "exposure": exposure,
            "age": age,
            "region": rng.choice(["north", "south", "east"], n),
            "vip": (rng.random(n) < 0.001).astype(int),  # rare but fair: too rare to judge
            "treated": treated,
            "converted": converted,
        }
    )


def test_leaks_and_identifiers_are_found_by_their_values() -> None:
    frame = _campaign()
    columns = [c for c in frame.columns if c not in ("treated", "converted")]
    found = post_treatment_columns(frame, columns, frame["converted"], frame["treated"])
    assert set(found) == {"Kundennummer", "Email_hash", "Kauf", "Umsatz_EUR", "exposure"}
    assert "identifier" in found["Kundennummer"] and "identifier" in found["Email_hash"]
    assert "outcome" in found["Kauf"] and "outcome" in found["Umsatz_EUR"]
    assert "treated rows" in found["exposure"]


def test_fair_covariates_stay_on_other_draws() -> None:
    for seed in range(5):
        frame = _campaign(seed=seed)
        fair = ["age", "region", "vip"]
        assert post_treatment_columns(frame, fair, frame["converted"], frame["treated"]) == {}


def test_a_plan_expected_to_lose_money_says_so() -> None:
    from shopmind.marketing.campaign import _loss_warnings

    assert _loss_warnings({"estimate": 120.0, "low": -40.0, "high": 280.0}, 500) == []
    mixed = _loss_warnings({"estimate": -30.0, "low": -200.0, "high": 140.0}, 500)
    assert len(mixed) == 1 and "on average" in mixed[0] and "-30" in mixed[0]
    sure = _loss_warnings({"estimate": -1204.0, "low": -1500.0, "high": -900.0}, 500)
    assert "even at the upper end" in sure[0] and "-1,204" in sure[0]
    assert _loss_warnings({"estimate": -5.0, "low": -5.0, "high": -5.0}, 0) == []


def test_a_many_level_noise_category_on_a_rare_outcome_is_kept() -> None:
    """50 levels, 1,000 rows, 1% conversion: in-sample level rates ranked this noise column's
    rows almost exactly in about 1 draw of 4; rates out of fold do not."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame(
            {
                "noise": [f"l{i}" for i in rng.integers(0, 50, 1000)],
                "treated": rng.random(1000) < 0.5,
                "converted": (rng.random(1000) < 0.01).astype(int),
            }
        )
        found = post_treatment_columns(frame, ["noise"], frame["converted"], frame["treated"])
        assert found == {}, seed
