"""Pieces every tabular model shares: LightGBM with small trees, pickle persistence."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from shopmind.errors import NotFittedError


def lightgbm(kind: str, seed: int, **params: Any) -> Any:
    """A LightGBM classifier or regressor with small, regularised trees (weak signals)."""
    import lightgbm as lgb

    settings = {
        "n_estimators": 300,
        "learning_rate": 0.02,
        "num_leaves": 7,
        "min_child_samples": 200,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "random_state": seed,
        "verbose": -1,
        **params,
    }
    model = lgb.LGBMClassifier if kind == "classifier" else lgb.LGBMRegressor
    return model(**settings)


def save_state(path: Path, config: dict[str, Any], state: dict[str, Any]) -> Path:
    """Pickle a model's config and learned state (our own files in the workspace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump({"config": config, "state": state}, handle)
    return path


def load_state(path: Path, what: str, command: str) -> dict[str, Any]:
    if not path.exists():
        raise NotFittedError(f"No {what} model at {path}.", hint=f"Train one: `{command}`.")
    with path.open("rb") as handle:
        return dict(pickle.load(handle))
