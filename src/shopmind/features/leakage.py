"""Columns that leak the label a model learns, found from the data (uplift, propensity and
risk on a file all use it; names alone miss most leaks: ``Kauf``, ``chargeback_amount``).

* an **identifier**: a text value per row, or whole numbers all distinct under an id-like
  name (customer numbers, hashed e-mails) - it describes nobody's behaviour;
* an **outcome in disguise**: it ranks the label almost exactly (ROC-AUC at least
  ``OUTCOME_AUC`` or at most 1 - it), as revenue, a refund amount or a second flag do.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import numpy as np
import pandas as pd

#: ROC-AUC against the label from which a column counts as the label itself
OUTCOME_AUC = 0.95
_ID_NAME = re.compile(r"(id|nr|no|num|nummer|number|key|code|hash)$", re.IGNORECASE)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC, NaN when ``y`` has one class."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if y.min() != y.max() else float("nan")


def _as_score(values: pd.Series, y: np.ndarray, folds: int = 5) -> np.ndarray | None:
    """Numbers as they are; a category of at most 50 values as its label rate out of fold
    (each row scored by the rate of its value in the other folds: an in-sample rate of many
    small levels ranks a noise column's rows well on a rare label)."""
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


def is_identifier(values: pd.Series, name: str) -> bool:
    present = values.dropna()
    if len(present) < 20 or present.nunique() < 0.95 * len(present):
        return False
    numeric = pd.to_numeric(present, errors="coerce")
    if numeric.notna().all():
        whole = bool((numeric % 1 == 0).all())
        return whole and bool(_ID_NAME.search(re.sub(r"[^A-Za-z0-9]", "", name)))
    return True


def leak_reason(
    values: pd.Series,
    name: str,
    y: np.ndarray,
    *,
    identifiers: bool = True,
    threshold: float = OUTCOME_AUC,
) -> str | None:
    """Why ``values`` (the column ``name``) must not be a feature for the 0/1 label ``y``,
    or None when it may be. ``identifiers=False`` keeps identifiers (risk models count how
    many rows share a device or an address); ``threshold``: the ROC-AUC from which a column
    counts as the label (risk uses 0.99: a strong honest signal is likelier there)."""
    if values.nunique(dropna=True) <= 1:
        return None
    if identifiers and is_identifier(values, name):
        return "an identifier (a different value on almost every row)"
    score = _as_score(values, y)
    area = roc_auc(y, score) if score is not None else float("nan")
    if max(area, 1.0 - area) >= threshold:  # False for NaN (one class)
        return f"ranks the label almost exactly (ROC-AUC {area:.3f}): known only after"
    return None


def label_leaks(
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    skip: Collection[object] = (),
    identifiers: bool = True,
    threshold: float = OUTCOME_AUC,
) -> dict[str, str]:
    """``{column: why}`` for the columns of ``frame`` (but ``skip``) that :func:`leak_reason`
    keeps out of the features for the label ``y``."""
    found = {}
    for name in frame.columns:
        if name in skip:
            continue
        why = leak_reason(frame[name], str(name), y, identifiers=identifiers, threshold=threshold)
        if why is not None:
            found[str(name)] = why
    return found
