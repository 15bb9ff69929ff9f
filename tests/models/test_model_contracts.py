"""Every non-recommender model family passes the shared model contract
(:mod:`shopmind.testing.model_contract`); recommenders have their own mixin."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shopmind.models.clv import CLVModel
from shopmind.models.propensity import PropensityModel
from shopmind.models.uplift import UpliftModel
from shopmind.testing.model_contract import ModelContract


def _tabular(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    channel = rng.choice(["web", "app", "store"], rows)
    treated = rng.integers(0, 2, rows)
    logit = 0.8 * x1 - 0.5 * x2 + treated * (0.6 * (x1 > 0)) - 0.5
    outcome = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "channel": channel,
            "arm": np.where(treated, "mail", "none"),
            "label": outcome,
        }
    )


class TestUpliftContract(ModelContract):
    data = _tabular()

    def make_model(self, **overrides: Any) -> UpliftModel:
        return UpliftModel(learners=("t", "ct"), bases=("logistic",), **overrides)

    def fit_model(self, model: Any) -> Any:
        d = self.data
        return model.fit(d[["x1", "x2", "channel"]], d["arm"], d["label"], ["mail"], "none")

    def predict(self, model: Any) -> Any:
        return model.predict(self.data[["x1", "x2", "channel"]].head(50))


class TestPropensityContract(ModelContract):
    data = _tabular().drop(columns=["arm"])

    def make_model(self, **overrides: Any) -> PropensityModel:
        return PropensityModel(**overrides)

    def fit_model(self, model: Any) -> Any:
        return model.fit_frame(self.data, "label")

    def predict(self, model: Any) -> Any:
        features = pd.get_dummies(self.data.drop(columns=["label"]).head(50), dtype=float)
        return model.predict(features)


def _transactions(customers: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2024-01-01")
    rows = []
    for c in range(customers):
        for k in range(int(rng.integers(1, 6))):
            day = first + pd.Timedelta(days=int(k * rng.integers(5, 40)))
            rows.append((f"c{c}", day, float(rng.gamma(2, 20))))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


class TestCLVContract(ModelContract):
    data = _transactions()

    def make_model(self, **overrides: Any) -> CLVModel:
        return CLVModel(time_unit="D", **overrides)

    def fit_model(self, model: Any) -> Any:
        return model.fit(self.data)

    def predict(self, model: Any) -> Any:
        return model.predict(6)[["expected_purchases", "clv"]]
