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

from shopmind.models.propensity_candidates import auc

#: Columns that look like outcomes; never features, since post-treatment values leak them.
OUTCOME_LIKE = re.compile(
    r"^(visit(s|ed)?|conver(sion|sions|ted)|spend|revenue|purchased?|orders?|y|outcome|"
    r"label|target|response|responded|churn(ed)?|clicks?|clicked)$",
    re.IGNORECASE,
)
#: ROC-AUC against the outcome from which a column counts as the outcome itself
OUTCOME_AUC = 0.95
#: control rows expected to hold a treated-only value before its absence counts
EXPECTED_IN_CONTROL = 10.0
_ID_NAME = re.compile(r"(id|nr|no|num|nummer|number|key|code|hash)$", re.IGNORECASE)


def _as_score(values: pd.Series, y: np.ndarray, folds: int = 5) -> np.ndarray | None:
    """Numbers as they are; a category of at most 50 values as its outcome rate out of fold
    (each row scored by the rate of its value in the other folds: an in-sample rate of many
    small levels ranks a noise column's rows well on a rare outcome)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().mean() > 0.95:
        return numeric.fillna(numeric.median()).to_numpy(dtype=float)
    text = values.astype("string").fillna("(missing)").to_numpy(dtype=object)
    if len(set(text)) > 50:
        return None
    fold = np.arange(len(text)) % folds
    score = np.empty(len(text), dtype=float)
    for k in range(folds):
        rest = pd.Series(y[fold != k]).groupby(text[fold != k]).mean()
        score[fold == k] = pd.Series(text[fold == k]).map(rest).fillna(y.mean()).to_numpy()
    return score


def _identifier(values: pd.Series, name: str) -> bool:
    present = values.dropna()
    if len(present) < 20 or present.nunique() < 0.95 * len(present):
        return False
    numeric = pd.to_numeric(present, errors="coerce")
    if numeric.notna().all():
        whole = bool((numeric % 1 == 0).all())
        return whole and bool(_ID_NAME.search(re.sub(r"[^A-Za-z0-9]", "", name)))
    return True


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
        if _identifier(values, str(name)):
            found[name] = "an identifier (a different value on almost every row)"
            continue
        score = _as_score(values, y)
        area = auc(y, score) if score is not None else float("nan")
        if max(area, 1.0 - area) >= OUTCOME_AUC:  # False for NaN (one class)
            found[name] = f"ranks the outcome almost exactly (ROC-AUC {area:.3f}): known only after"
            continue
        if arm.any() and (~arm).any() and _treated_only(values, arm):
            found[name] = "varies only in treated rows: set by the campaign"
    return found


__all__ = ["OUTCOME_AUC", "OUTCOME_LIKE", "post_treatment_columns"]
