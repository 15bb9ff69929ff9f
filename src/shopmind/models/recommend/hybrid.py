"""Hybrid: a weighted sum of several models' scores, each scaled to [0, 1] per case.

Scaling by the row maximum keeps every component's best item at 1 so weights mean "how
much this model's opinion counts". Components are ordinary recommenders (content-based
ones bring cold-start items into collaborative lists). Weights are chosen on the
validation split by :func:`shopmind.models.recommend.select.select_model`. The components are
saved inside the hybrid (learned state ``components_``), without their training histories.

With ``ranker`` set, a learned re-ranker (:mod:`stacking`, learned state ``ranker_``) orders
the blend's best candidates. It learns on validation cases: ``fit(data, validation)`` trains
it there, and a refit on more data (``recommend train``'s final fit) adopts the one selection
trained (``reuse["ranker"]``), as neural components are adopted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from shopmind.errors import RecommendError
from shopmind.evaluation.ranking import Cases
from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import Prefitted, Recommender, RecommenderConfig
from shopmind.models.recommend.registry import model_class
from shopmind.models.recommend.stacking import (
    LearnedRanker,
    RankerConfig,
    build_training,
    candidate_features,
    reranked_scores,
)


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
    ranker: RankerConfig | None = Field(
        default=None, description="re-rank the blend's best items with a learned ranker"
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
        reuse = self.reuse or {}
        trained = reuse.get("ranker")
        learns_here = self.config.ranker is not None and not isinstance(trained, LearnedRanker)
        if learns_here and (not isinstance(validation, Cases) or len(validation) == 0):
            raise RecommendError(
                "A hybrid with a learned re-ranker needs validation cases to learn it from.",
                hint="Call fit(data, validation_cases), or let `shopmind recommend train` "
                "choose the model.",
            )
        self.components_: list[Recommender] = []
        for c in self.config.components:
            known = reuse.get(c.name)
            fitted = known.adopt(data) if isinstance(known, Recommender) else None
            if fitted is None:
                fitted = model_class(c.name)(**c.config).fit(data, validation)
            self.components_.append(fitted)
        self.ranker_: LearnedRanker | None = None
        if self.config.ranker is None:
            return
        if isinstance(trained, LearnedRanker):
            trained.check_inputs(self._weighted())
            self.ranker_ = trained
            return
        config = self.config.ranker
        if config.exclude_seen is None:  # as the answers will be: users' seen items excluded
            config = config.model_copy(update={"exclude_seen": data.kind == "users"})
        _, features, labels = build_training(self.parts_of, validation, self.popularity_, config)
        self.ranker_ = LearnedRanker(config).fit(features, labels)

    def _weighted(self) -> int:
        return sum(1 for c in self.config.components if c.weight > 0)

    def carried(self) -> Prefitted:
        """The learned re-ranker: it learned on validation cases, a refit keeps it."""
        ranker = getattr(self, "ranker_", None)
        return {"ranker": ranker} if ranker is not None else {}

    def _blend(
        self, histories: Sequence[np.ndarray], keys: np.ndarray, keep_parts: bool
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        total = np.zeros((len(histories), self.n_items_), dtype=np.float32)
        parts = []
        for component, model in zip(self.config.components, self.components_, strict=True):
            if component.weight > 0:
                part = scaled(model.score(histories, keys))
                total += component.weight * part
                if keep_parts:
                    parts.append(part)
        return total, parts

    def parts_of(
        self, histories: Sequence[np.ndarray], keys: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The blend's scores and each weighted component's scaled scores."""
        return self._blend(histories, keys, keep_parts=True)

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        ranker = getattr(self, "ranker_", None)  # absent in hybrids saved before 0.9.0
        total, parts = self._blend(histories, keys, keep_parts=ranker is not None)
        if ranker is None:
            return total
        top, features = candidate_features(total, parts, histories, self.popularity_, ranker.config)
        return reranked_scores(total, *ranker.order(top, features))

    def reason(self) -> str:
        names = [c.name for c in self.config.components if c.weight > 0]
        ranked = ", re-ranked by a learned ranker" if self.config.ranker is not None else ""
        return "from your recent items (" + " + ".join(names) + ")" + ranked
