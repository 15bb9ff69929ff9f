"""Hybrid: a weighted sum of several models' scores, each scaled to [0, 1] per case.

Scaling by the row maximum keeps every component's best item at 1 so weights mean "how
much this model's opinion counts". Components are ordinary recommenders (content-based
ones bring cold-start items into collaborative lists). Weights are chosen on the
validation split by :func:`shopmind.models.recommend.select.select_model`. The components are
saved inside the hybrid (learned state ``components_``), without their training histories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import Recommender, RecommenderConfig
from shopmind.models.recommend.registry import model_class


class Component(BaseModel):
    name: str
    config: dict[str, Any] = Field(default_factory=dict)
    weight: float = Field(default=1.0, ge=0)


class HybridConfig(RecommenderConfig):
    components: list[Component] = Field(
        default_factory=lambda: [
            Component(name="markov", weight=1.0),
            Component(name="itemknn", weight=0.5),
        ]
    )


def scaled(scores: np.ndarray) -> np.ndarray:
    """Per-row scaling to at most 1 (softmax first for models that emit logits)."""
    if scores.min() < 0:
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    top = scores.max(axis=1, keepdims=True)
    return scores / np.where(top > 0, top, 1.0)


class Hybrid(Recommender):
    name = "hybrid"
    config_class = HybridConfig
    config: HybridConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        reuse: dict[str, Recommender] = self.reuse or {}
        self.components_: list[Recommender] = [
            reuse[c.name].adopt(data)
            if c.name in reuse
            else model_class(c.name)(**c.config).fit(data, validation)
            for c in self.config.components
        ]

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        total = np.zeros((len(histories), self.n_items_), dtype=np.float32)
        for component, model in zip(self.config.components, self.components_, strict=True):
            if component.weight > 0:
                total += component.weight * scaled(model.score(histories, keys))
        return total

    def reason(self) -> str:
        names = [c.name for c in self.config.components if c.weight > 0]
        return "from your recent items (" + " + ".join(names) + ")"
