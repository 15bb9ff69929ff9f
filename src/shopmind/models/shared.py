"""Pieces every tabular model shares: LightGBM with small trees (persistence: models.base)."""

from __future__ import annotations

from typing import Any


def lightgbm(kind: str, seed: int, **params: Any) -> Any:
    """A LightGBM classifier, regressor or ranker (``kind``) with small, regularised trees
    (weak signals) unless ``params`` say otherwise."""
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
        # same inputs and seed, same model, whatever the thread count (LightGBM docs)
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
        **params,
    }
    models = {"classifier": lgb.LGBMClassifier, "ranker": lgb.LGBMRanker}
    return models.get(kind, lgb.LGBMRegressor)(**settings)
