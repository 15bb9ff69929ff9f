"""Matrix factorisation through ``implicit``: ALS (Hu, Koren & Volinsky 2008) and BPR
(Rendle et al. 2009) on the binary keys x items matrix.

Known keys use their learned factors. A history the model has not seen (an anonymous
session, or a user whose history changed) is folded in: ALS solves its least-squares user
step exactly; BPR averages the history's item factors.

Per-user learned state: the user factors and history lengths (one row per training key) are
saved with the model, with a hash of each key to line them up with the workspace's users.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import Recommender, RecommenderConfig


class ALSConfig(RecommenderConfig):
    factors: int = Field(default=64, ge=1)
    regularization: float = Field(default=0.05, ge=0)
    alpha: float = Field(default=2.0, gt=0, description="confidence = 1 + alpha * count")
    iterations: int = Field(default=15, ge=1)


class BPRConfig(RecommenderConfig):
    factors: int = Field(default=64, ge=1)
    learning_rate: float = Field(default=0.05, gt=0)
    regularization: float = Field(default=0.01, ge=0)
    iterations: int = Field(default=100, ge=1)


def _numpy(array: Any) -> np.ndarray:
    return np.asarray(array.to_numpy() if hasattr(array, "to_numpy") else array, np.float32)


class _Factorization(Recommender):
    keyed_state = ("user_factors_", "history_lengths_")

    def _learn(self, data: Sequences, model: Any) -> None:
        self.history_lengths_ = data.lengths().copy()
        model.fit(data.user_item_matrix(binary=True), show_progress=False)
        self.user_factors_ = _numpy(model.user_factors)
        self.item_factors_ = _numpy(model.item_factors)

    def _fold_in(self, history: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        users = np.zeros((len(histories), self.item_factors_.shape[1]), dtype=np.float32)
        for row, (history, key) in enumerate(zip(histories, keys, strict=True)):
            same = key >= 0 and len(history) == self.history_lengths_[key]
            users[row] = self.user_factors_[key] if same else self._fold_in(history)
        return users @ self.item_factors_.T

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1) + 1e-9
        unit = self.item_factors_ / norms[:, None]
        return unit[items] @ unit.T


class ALS(_Factorization):
    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        c = self.config
        model = AlternatingLeastSquares(
            factors=c.factors,
            regularization=c.regularization,
            alpha=c.alpha,
            iterations=c.iterations,
            random_state=c.seed,
            num_threads=1,
        )
        self._learn(data, model)
        y = self.item_factors_.astype(np.float64)
        self.gram_ = y.T @ y + c.regularization * np.eye(y.shape[1])

    def _fold_in(self, history: np.ndarray) -> np.ndarray:
        if len(history) == 0:
            return np.zeros(self.item_factors_.shape[1], dtype=np.float32)
        y = self.item_factors_[np.unique(history)].astype(np.float64)
        a = self.gram_ + self.config.alpha * (y.T @ y)
        b = (1.0 + self.config.alpha) * y.sum(axis=0)
        return np.linalg.solve(a, b).astype(np.float32)

    def reason(self) -> str:
        return "matches your taste profile"


class BPR(_Factorization):
    name = "bpr"
    config_class = BPRConfig
    config: BPRConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        c = self.config
        model = BayesianPersonalizedRanking(
            factors=c.factors,
            learning_rate=c.learning_rate,
            regularization=c.regularization,
            iterations=c.iterations,
            random_state=c.seed,
            num_threads=1,
        )
        self._learn(data, model)

    def _fold_in(self, history: np.ndarray) -> np.ndarray:
        user = np.zeros(self.item_factors_.shape[1], dtype=np.float32)
        if len(history):
            user = self.item_factors_[np.unique(history)].mean(axis=0)
        user[-1] = 1.0  # implicit's BPR keeps item biases in the last factor
        return user

    def reason(self) -> str:
        return "matches your taste profile"
