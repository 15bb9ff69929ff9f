"""Session-based kNN, V-SKNN flavour (Ludewig & Jannach 2018, "Evaluation of session-based
recommendation algorithms").

The current session is a vector whose later items weigh more (linear: position / length);
its similarity to each stored sequence is the weighted overlap, optionally decayed by the stored
sequence's age (``recency``: the session recency of STAN, Garg et al. 2019, "Sequence and
Time Aware Neighborhood for Session-based Recommendations"); the ``neighbours`` most similar
stored sequences vote for their items with their similarity, optionally scaled by the item's
inverse document frequency (``idf_weight``).

Per-user learned state: the neighbour pool is the training sequences as a binary keys x items
matrix (``sessions_``, with ``norm_``), saved with the model together with a hash of each key,
so that a known user is never their own neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field
from scipy import sparse

from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import (
    Recommender,
    RecommenderConfig,
    recency_field,
    recency_weights,
    revisits_and_backfill,
)


class SessionKNNConfig(RecommenderConfig):
    neighbours: int = Field(default=100, ge=1)
    weighting: Literal["linear", "harmonic", "same"] = "linear"
    idf_weight: float = Field(default=1.0, ge=0, description="0: plain votes")
    cosine: bool = Field(default=True, description="divide overlap by sqrt(neighbour length)")
    repeat: float = Field(default=0.0, ge=0, description="weight of the case's own items")
    history_len: int | None = Field(default=None, ge=1)
    backfill: float = Field(default=1e-4, ge=0)
    recency: float | None = recency_field(
        "a neighbour (by its last interaction; STAN's session recency)"
    )


def position_weights(
    histories: Sequence[np.ndarray], n_items: int, weighting: str, last_n: int | None
) -> Any:
    from shopmind.features.sequences import history_matrix

    if weighting == "same":
        return history_matrix(list(histories), n_items, last_n, 1.0)
    rows, cols, vals = [], [], []
    for row, history in enumerate(histories):
        recent = np.asarray(history[-last_n:] if last_n else history)
        if len(recent) == 0:
            continue
        items, from_end = np.unique(recent[::-1], return_index=True)
        position = len(recent) - from_end  # 1-based position of the last occurrence
        w = position / len(recent) if weighting == "linear" else 1.0 / (from_end + 1)
        rows.append(np.full(len(items), row))
        cols.append(items)
        vals.append(w.astype(np.float32))
    if not rows:
        return sparse.csr_matrix((len(histories), n_items), dtype=np.float32)
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(histories), n_items),
    )


class SessionKNN(Recommender):
    name = "sknn"
    config_class = SessionKNNConfig
    keyed_state = ("sessions_", "norm_", "key_ages_")
    config: SessionKNNConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        matrix = data.user_item_matrix(binary=True).astype(np.float32)
        df = np.asarray(matrix.sum(axis=0)).ravel()
        idf = np.log(data.n_keys / np.maximum(df, 1.0))
        self.sessions_ = matrix.tocsr()
        length = np.asarray(matrix.sum(axis=1)).ravel()
        self.norm_ = (1.0 / np.sqrt(np.maximum(length, 1.0))).astype(np.float32)
        self.key_ages_ = data.key_ages()
        self.item_weight_ = (1.0 + self.config.idf_weight * (idf / max(idf.max(), 1e-9))).astype(
            np.float32
        )

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        c = self.config
        query = position_weights(histories, self.n_items_, c.weighting, c.history_len)
        similarity = self.sessions_ @ query.T  # stored sequences x cases
        if c.cosine:
            similarity = similarity.multiply(self.norm_[:, None])
        recent = recency_weights(self.key_ages_, c.recency)
        if recent is not None:  # before the neighbours are chosen, as in STAN
            similarity = similarity.multiply(recent[:, None])
        similarity = similarity.tocsc()
        rows, cols, vals = [], [], []
        for case in range(similarity.shape[1]):
            lo, hi = similarity.indptr[case], similarity.indptr[case + 1]
            neighbour, sim = similarity.indices[lo:hi], similarity.data[lo:hi]
            if keys[case] >= 0:  # a known key must not be its own neighbour
                own = neighbour != keys[case]
                neighbour, sim = neighbour[own], sim[own]
            if len(sim) > c.neighbours:
                best = np.argpartition(-sim, c.neighbours - 1)[: c.neighbours]
                neighbour, sim = neighbour[best], sim[best]
            rows.append(np.full(len(sim), case))
            cols.append(neighbour)
            vals.append(sim)
        votes = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(histories), self.sessions_.shape[0]),
        )
        scores = (votes @ self.sessions_).toarray() * self.item_weight_[None, :]
        return revisits_and_backfill(scores, query, c.repeat, c.backfill, self.popularity_)

    def reason(self) -> str:
        return "in sessions like yours"
