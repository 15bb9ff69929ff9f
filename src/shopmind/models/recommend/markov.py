"""Sequential transitions: the next item from the user's last few items.

Counts ordered pairs ``(a, b)`` where ``b`` follows ``a`` within ``window`` steps in a
sequence, weighting a gap of ``g`` steps by ``gap_decay ** (g - 1)`` (the "sequential rules"
of Ludewig & Jannach 2018; ``window=1`` is a first-order Markov chain). Rows are normalised
to transition probabilities; a history's score is the recency-weighted sum of its last
``history_len`` items' rows, with a tiny popularity term to order the rest. With ``recency``
older transitions count less (the trend of what follows what changes over time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field
from scipy import sparse

from shopmind.features.sequences import Sequences, history_matrix
from shopmind.models.recommend.base import (
    Recommender,
    RecommenderConfig,
    recency_field,
    recency_weights,
    revisits_and_backfill,
)


class MarkovConfig(RecommenderConfig):
    window: int = Field(default=3, ge=1, description="steps ahead a transition counts")
    gap_decay: float = Field(default=0.5, gt=0, le=1)
    backward: float = Field(default=0.0, ge=0, description="weight of reversed pairs")
    history_len: int = Field(default=3, ge=1, description="most recent items used")
    history_decay: float = Field(default=0.5, gt=0, le=1)
    normalize: Literal["row", "sqrt", "none"] = "row"
    repeat: float = Field(default=0.0, ge=0, description="weight of the history's own items")
    backfill: float = Field(default=1e-4, ge=0, description="popularity weight for ties")
    recency: float | None = recency_field("a transition (by its second item's time)")


def transition_matrix(
    data: Sequences,
    window: int,
    gap_decay: float,
    backward: float,
    recency: float | None = None,
) -> Any:
    """Items x items weighted follow counts (within a key's sequence only); with ``recency``
    each pair also weighs :func:`recency_weights` of its second item's age."""
    key_of = np.repeat(np.arange(data.n_keys), data.lengths())
    recent = recency_weights(data.event_ages(), recency)
    rows, cols, vals = [], [], []
    for gap in range(1, window + 1):
        same = key_of[gap:] == key_of[:-gap]
        a, b = data.items[:-gap][same], data.items[gap:][same]
        keep = a != b
        weight = np.full(int(keep.sum()), gap_decay ** (gap - 1), dtype=np.float32)
        if recent is not None:
            weight *= recent[gap:][same][keep]
        rows.append(a[keep])
        cols.append(b[keep])
        vals.append(weight)
        if backward > 0:
            rows.append(b[keep])
            cols.append(a[keep])
            vals.append(weight * np.float32(backward))
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(data.n_items, data.n_items),
    )
    matrix.sum_duplicates()
    return matrix


class Markov(Recommender):
    name = "markov"
    config_class = MarkovConfig
    config: MarkovConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        c = self.config
        matrix = transition_matrix(data, c.window, c.gap_decay, c.backward, c.recency)
        if c.normalize != "none":
            totals = np.asarray(matrix.sum(axis=1)).ravel()
            if c.normalize == "sqrt":
                totals = np.sqrt(totals)
            scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
            matrix = sparse.diags(scale.astype(np.float32)) @ matrix
        self.transitions_ = matrix.tocsr().astype(np.float32)

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        c = self.config
        weights = history_matrix(list(histories), self.n_items_, c.history_len, c.history_decay)
        scores = (weights @ self.transitions_).toarray()
        return revisits_and_backfill(scores, weights, c.repeat, c.backfill, self.popularity_)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return self.transitions_[items].toarray() + self.config.backfill * self.popularity_

    def reason(self) -> str:
        return "often bought next after your recent items"
