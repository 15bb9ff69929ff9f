"""Item-based k-nearest neighbours on the interaction matrix (Sarwar et al. 2001).

Similarities come from ``implicit``'s cosine or BM25-weighted item-item models (each item
keeps its ``neighbours`` most similar items). A history scores an item by the summed
similarity to the history's items, recent items weighted by ``history_decay ** distance``.
With ``recency`` the users (or sessions) active long ago count less in the similarities.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from shopmind.features.sequences import Sequences, history_matrix
from shopmind.models.recommend.base import (
    Recommender,
    RecommenderConfig,
    recency_field,
    recency_weights,
    revisits_and_backfill,
)


class ItemKNNConfig(RecommenderConfig):
    neighbours: int = Field(default=100, ge=1)
    similarity: Literal["cosine", "bm25"] = "bm25"
    bm25_k1: float = Field(default=1.2, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    history_len: int | None = Field(default=None, ge=1, description="recent items used")
    history_decay: float = Field(default=1.0, gt=0, le=1)
    backfill: float = Field(default=1e-4, ge=0)
    recency: float | None = recency_field("a user or session (by its last interaction)")


def _weighted_matrix(data: Sequences, recency: float | None) -> Any:
    """Keys x items, 1 per interacted pair, or with ``recency`` each key's row weighted by
    its :func:`recency_weights` (the tastes of recently active users count more)."""
    matrix = data.user_item_matrix(binary=True)
    weights = recency_weights(data.key_ages(), recency)
    if weights is None:
        return matrix
    from scipy import sparse

    return (sparse.diags(weights) @ matrix).tocsr()


class ItemKNN(Recommender):
    name = "itemknn"
    config_class = ItemKNNConfig
    config: ItemKNNConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        c = self.config
        if c.similarity == "bm25":
            knn = BM25Recommender(K=c.neighbours, K1=c.bm25_k1, B=c.bm25_b, num_threads=1)
        else:
            knn = CosineRecommender(K=c.neighbours, num_threads=1)
        with warnings.catch_warnings():
            # implicit's own BM25 weighting hands its item-item step a COO matrix and then
            # warns about it ("expects CSR input"); our input is CSR, nothing to act on
            warnings.filterwarnings("ignore", message=".*expects CSR input.*")
            knn.fit(_weighted_matrix(data, c.recency), show_progress=False)
        similarity = knn.similarity.tocsr().astype(np.float32)
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        self.similarity_ = similarity

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        c = self.config
        weights = history_matrix(list(histories), self.n_items_, c.history_len, c.history_decay)
        scores = (weights @ self.similarity_).toarray()
        return revisits_and_backfill(scores, weights, 0.0, c.backfill, self.popularity_)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return self.similarity_[items].toarray() + self.config.backfill * self.popularity_

    def reason(self) -> str:
        return "liked by people who liked your items"
