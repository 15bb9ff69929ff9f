"""Columns of a campaign file that must not be uplift features, found from the data.

A feature must be known before sending. Outcome-like names (``OUTCOME_LIKE``: visit,
conversion, spend, ...) are never features, but names alone miss most leaks (``Kauf``,
``Umsatz_EUR``, ``exposure``), so each other column is also checked by its values:

* an **identifier**: a text value per row, or whole numbers all distinct under an id-like name
  (customer numbers, hashed e-mails) - it describes nobody's behaviour;
* an **outcome in disguise**: it ranks the outcome almost exactly (ROC-AUC at least
  ``OUTCOME_AUC`` or at most 1 - it), as revenue or a second conversion flag do;
* **set by the campaign**: it takes more than one value among treated rows but a single value
  among the control rows, where enough control rows were seen to expect others (exposure,
  opens, clicks: only a treated customer can have them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from shopmind.features.leakage import OUTCOME_AUC, leak_reason

#: Columns that look like outcomes; never features, since post-treatment values leak them.
OUTCOME_LIKE = re.compile(
    r"^(visit(s|ed)?|conver(sion|sions|ted)|spend|revenue|purchased?|orders?|y|outcome|"
    r"label|target|response|responded|churn(ed)?|clicks?|clicked)$",
    re.IGNORECASE,
)
#: control rows expected to hold a treated-only value before its absence counts
EXPECTED_IN_CONTROL = 10.0


def _treated_only(values: pd.Series, treated: np.ndarray) -> bool:
    control = values[~treated].astype("string").fillna("(missing)")
    chosen = values[treated].astype("string").fillna("(missing)")
    if control.nunique() != 1 or chosen.nunique() < 2:
        return False
    other = float((chosen != control.iloc[0]).mean())
    return other * len(control) >= EXPECTED_IN_CONTROL


def post_treatment_columns(
    frame: pd.DataFrame,
    columns: Sequence[str],
    outcome: pd.Series,
    treated: pd.Series,
) -> dict[str, str]:
    """``{column: why}`` for the columns of ``columns`` that are no fair uplift features;
    ``outcome`` is 0/1 per row, ``treated`` True for rows of a treatment arm."""
    y = pd.to_numeric(outcome, errors="coerce").fillna(0).to_numpy(dtype=int)
    arm = treated.to_numpy(dtype=bool)
    found: dict[str, str] = {}
    for name in columns:
        if OUTCOME_LIKE.match(str(name)):
            found[name] = "named like an outcome"
            continue
        values = frame[name]
        if values.nunique(dropna=True) <= 1:
            continue
        reason = leak_reason(values, str(name), y)
        if reason is not None:
            found[name] = reason.replace("the label", "the outcome")
            continue
        if arm.any() and (~arm).any() and _treated_only(values, arm):
            found[name] = "varies only in treated rows: set by the campaign"
    return found


__all__ = ["OUTCOME_AUC", "OUTCOME_LIKE", "post_treatment_columns"]
