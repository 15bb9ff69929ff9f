"""Most popular and trending (time-decayed popularity) items: the fallbacks and baselines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import Recommender, RecommenderConfig


class Popularity(Recommender):
    """Items ranked by how many interactions they had (the same list for everyone)."""

    name = "popularity"
    personalised = False

    def _fit(self, data: Sequences, validation: Any) -> None:
        self.scores_ = self.popularity_.copy()

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        return np.tile(self.scores_, (len(histories), 1))

    def reason(self) -> str:
        return "popular"


class TrendingConfig(RecommenderConfig):
    half_life_days: float = Field(default=7.0, gt=0, description="weight halves every N days")


class Trending(Popularity):
    """Interactions weighted by ``0.5 ** (age / half_life)``, age from the newest event."""

    name = "trending"
    config_class = TrendingConfig
    config: TrendingConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        age_days = (data.times.max() - data.times) / 86_400.0
        weights = np.power(0.5, age_days / self.config.half_life_days)
        scores = np.bincount(data.items, weights=weights, minlength=data.n_items)
        self.scores_ = (scores / max(float(scores.max()), 1e-12)).astype(np.float32)

    def reason(self) -> str:
        return "trending"
