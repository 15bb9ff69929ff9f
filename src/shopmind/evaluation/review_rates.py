"""Precision and recall when the most suspicious share of cases is reviewed (risk control)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Shares of cases sent to review, most suspicious first.
REVIEW_RATES = (0.005, 0.01, 0.02, 0.05, 0.10)


def at_review_rates(
    scores: np.ndarray, labels: np.ndarray, rates: tuple[float, ...] = REVIEW_RATES
) -> list[dict[str, Any]]:
    """Precision and recall when the top ``rate`` share of rows by score is reviewed.

    ``reviewed`` = max(1, round(rate x rows)); ties are broken by row order (callers pass rows
    in a fixed order). ``threshold`` is the lowest score reviewed."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=int)
    order = np.argsort(-scores, kind="stable")
    bad = int(labels.sum())
    out = []
    for rate in rates:
        k = min(len(scores), max(1, round(rate * len(scores))))
        caught = int(labels[order[:k]].sum())
        out.append(
            {
                "review_rate": rate,
                "reviewed": k,
                "threshold": float(scores[order[k - 1]]),
                "bad_caught": caught,
                "precision": caught / k,
                "recall": caught / bad if bad else float("nan"),
            }
        )
    return out
