"""Scores of a workspace's propensity model: one reading for ``shopmind propensity
score|explain``, the console's campaign page and audiences.

The model is the workspace-mode one (``models/propensity/model.pkl``); it scores every user
with events before the cutoff (default: its training cutoff) from the same point-in-time
features it was trained on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.features.tables import Tables
from shopmind.models.propensity import PropensityModel, resolve_cutoff


def model_path(workspace: Any, tabular: bool = False) -> Path:
    """Where ``propensity train`` keeps its model (``tabular.pkl`` for file mode)."""
    return Path(workspace.models_dir) / "propensity" / ("tabular.pkl" if tabular else "model.pkl")


def load_model(workspace: Any) -> PropensityModel:
    """The workspace-mode model; NotFittedError with a hint when none was trained."""
    return PropensityModel.load(model_path(workspace))


def snapshot(model: PropensityModel, tables: Tables, cutoff: str | None = None) -> pd.DataFrame:
    """Unlabelled features of every user with events before ``cutoff`` (an ISO time; without
    an offset it is read as UTC) or, by default, the model's training cutoff."""
    at = model.cutoff_
    if cutoff:
        at, _note = resolve_cutoff(cutoff, datetime.now(UTC), timedelta(0))
    if at is None:
        raise ShopmindError(
            "This propensity model was trained on a file (tabular mode) and has no cutoff.",
            hint="Pass --cutoff 2017-12-02T00:00:00+08:00, or train in workspace mode: "
            "`shopmind propensity train`.",
        )
    return model.snapshot(tables, at, labelled=False)


def score_users(
    model: PropensityModel, tables: Tables, cutoff: str | None = None, reasons: bool = False
) -> pd.DataFrame:
    """``user_id, score`` (calibrated probability) and, with ``reasons``, ``top_reasons``
    (the top SHAP reasons in words, ``; ``-joined) for every user of :func:`snapshot`."""
    features = snapshot(model, tables, cutoff)
    frame = pd.DataFrame({"user_id": features["user_id"], "score": model.predict(features)})
    if reasons:
        frame["top_reasons"] = ["; ".join(r["text"] for r in rs) for rs in model.reasons(features)]
    return frame


def load_tabular_model(workspace: Any) -> PropensityModel:
    """The file-mode model (``propensity train --data``)."""
    return PropensityModel.load(model_path(workspace, tabular=True))


def score_file(model: PropensityModel, frame: pd.DataFrame) -> pd.DataFrame:
    """``row, score, top_reasons`` for every row of a file laid out like the training file
    (its label column may be absent), in input order; identifier columns left out of the
    features (``excluded_columns``) come first, to join the scores back."""
    if model.cutoff_ is not None or not model.feature_names_:
        raise ShopmindError(
            "This propensity model was trained on the workspace's events, not on a file.",
            hint="Score it with `shopmind propensity score --out F` (no --data), or train "
            "one on a file with `propensity train --data F --label COL`.",
        )
    features = model.file_features(frame)
    excluded = model.report_.get("excluded_columns", {})
    ids = [c for c in frame.columns if c in excluded and "identifier" in excluded[c]]
    out = frame[ids].reset_index(drop=True).copy()
    out["row"] = range(len(frame))
    out["score"] = model.predict(features)
    out["top_reasons"] = ["; ".join(r["text"] for r in rs) for rs in model.reasons(features)]
    return out
