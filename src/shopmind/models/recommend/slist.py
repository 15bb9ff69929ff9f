"""SLIST: a closed-form linear item-to-item model for sequences and sessions (Choi et al.,
WWW 2021, "Session-aware Linear Item-Item Models for Session-based Recommendation"; the
EASE closed form of Steck 2019 generalised).

An item-to-item weight matrix ``B`` (items x items) minimises

    alpha * ||X - X B||^2 + (1 - alpha) * ||T - S B||^2 + regularization * ||B||^2,
    subject to diag(B) = 0,

with ``X`` keys x items (each sequence as a set: which items go together, SLIS) and, one row
per position ``t`` of every sequence, ``S`` the ``window`` items before ``t`` weighted
``position_decay ** (gap - 1)`` and ``T`` the item at ``t`` (what comes next, SLIT). With
``G = alpha X'X + (1 - alpha) S'S + regularization I`` and ``P = G^-1``, the solution is
``B = P R - P diag(mu)``, ``R = alpha X'X + (1 - alpha) S'T``, ``mu_j = (P R)_jj / P_jj``.

A history scores items by ``w B`` with ``w`` its recency weights (the last item 1, the one
before ``history_decay``...). Only the ``max_items`` most frequent items are modelled (the
inverse is dense: 12k items take about a minute and 1.2 GB), and when the catalogue is larger
only items with ``min_count`` interactions; each row of ``B`` keeps its
``neighbours`` largest positive weights, so the saved model stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field
from scipy import sparse
from scipy.linalg import lapack

from shopmind.errors import RecommendError
from shopmind.features.sequences import Sequences, history_matrix
from shopmind.models.recommend.base import (
    Recommender,
    RecommenderConfig,
    revisits_and_backfill,
)


class SlistConfig(RecommenderConfig):
    alpha: float = Field(default=0.2, ge=0, le=1, description="weight of the set term (SLIS)")
    regularization: float = Field(default=100.0, gt=0, description="L2 weight (lambda)")
    window: int = Field(default=5, ge=1, description="earlier items that predict the next")
    position_decay: float = Field(default=0.7, gt=0, le=1)
    history_len: int = Field(default=5, ge=1, description="most recent items used to score")
    history_decay: float = Field(default=0.5, gt=0, le=1)
    max_items: int = Field(default=15_000, ge=2, description="most frequent items modelled")
    min_count: int = Field(
        default=3,
        ge=1,
        description="interactions an item needs when not every item fits",
    )
    neighbours: int = Field(default=300, ge=1, description="weights kept per item")
    repeat: float = Field(default=0.0, ge=0, description="weight of the history's own items")
    backfill: float = Field(default=1e-4, ge=0, description="popularity weight for ties")


def _positions(data: Sequences, local: np.ndarray, window: int, decay: float) -> Any:
    """(S, T): per position, earlier modelled items (weighted by gap) and the item itself."""
    items = local[data.items]
    key_of = np.repeat(np.arange(data.n_keys), data.lengths())
    n = len(items)
    rows, cols, vals = [], [], []
    for gap in range(1, window + 1):
        target = np.arange(gap, n)
        source = target - gap
        keep = (key_of[target] == key_of[source]) & (items[target] >= 0) & (items[source] >= 0)
        rows.append(target[keep])
        cols.append(items[source[keep]])
        vals.append(np.full(int(keep.sum()), decay ** (gap - 1), dtype=np.float64))
    m = int(local.max()) + 1
    past = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, m)
    )
    past.sum_duplicates()
    has_past = np.flatnonzero(np.diff(past.indptr) > 0)
    past = past[has_past]
    nxt = sparse.csr_matrix(
        (np.ones(len(has_past)), (np.arange(len(has_past)), items[has_past])),
        shape=(len(has_past), m),
    )
    return past, nxt


def _inverse(gram: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix (Cholesky, then mirrored)."""
    factor, info = lapack.spotrf(gram, lower=False, overwrite_a=True)
    if info != 0:
        raise RecommendError("SLIST: the Gram matrix is not positive definite.")
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise RecommendError("SLIST: inverting the Gram matrix failed.")
    upper = np.triu(inverse)
    return upper + np.triu(inverse, 1).T


def _prune(weights: np.ndarray, keep: int) -> Any:
    """The ``keep`` largest positive weights of each row, as CSR."""
    m = weights.shape[0]
    keep = min(keep, m)
    top = np.argpartition(-weights, keep - 1, axis=1)[:, :keep]
    values = np.take_along_axis(weights, top, axis=1)
    positive = values > 0
    rows = np.repeat(np.arange(m), keep)[positive.ravel()]
    matrix = sparse.csr_matrix(
        (values[positive].astype(np.float32), (rows, top[positive])), shape=(m, m)
    )
    matrix.sum_duplicates()
    return matrix


class Slist(Recommender):
    name = "slist"
    config_class = SlistConfig
    config: SlistConfig

    def _fit(self, data: Sequences, validation: Any) -> None:
        c = self.config
        counts = np.bincount(data.items, minlength=data.n_items)
        order = np.argsort(-counts, kind="stable")
        seen = int((counts > 0).sum())
        # a catalogue too large to model whole: items seen once or twice teach the closed
        # form next to nothing but fill its cube (the Taobao head: 55k items, 14k of them
        # seen twice, 136 s), so only items seen min_count times compete for the places
        frequent = int((counts >= c.min_count).sum())
        usable = frequent if seen > c.max_items and frequent >= 2 else seen
        modelled = np.sort(order[: min(c.max_items, usable)])
        if len(modelled) < 2:
            raise RecommendError("SLIST needs at least two items with interactions.")
        local = np.full(data.n_items, -1, dtype=np.int64)
        local[modelled] = np.arange(len(modelled))
        m = len(modelled)
        # SLIS: each sequence as a set of modelled items
        rows = np.repeat(np.arange(data.n_keys), data.lengths())
        cols = local[data.items]
        inside = cols >= 0
        sets = sparse.csr_matrix(
            (np.ones(int(inside.sum())), (rows[inside], cols[inside])), shape=(data.n_keys, m)
        )
        sets.data[:] = 1.0
        past, nxt = _positions(data, local, c.window, c.position_decay)
        past_gram = (past.T @ past).tocsr()
        gram = (c.alpha * (sets.T @ sets) + (1 - c.alpha) * past_gram).toarray()
        gram[np.diag_indices(m)] += c.regularization
        inverse = _inverse(gram.astype(np.float32))
        del gram
        # P R = I - lambda P + (1 - alpha) P (S'T - S'S): one sparse-times-dense product
        moved = ((1 - c.alpha) * ((past.T @ nxt).tocsr() - past_gram)).astype(np.float32)
        weights = np.asarray((moved.T @ inverse).T)
        weights -= c.regularization * inverse
        weights[np.diag_indices(m)] += 1.0
        mu = np.diag(weights) / np.diag(inverse)
        weights -= inverse * mu[None, :]
        del inverse
        np.fill_diagonal(weights, 0.0)
        self.items_ = modelled.astype(np.int64)
        self.weights_ = _prune(weights, c.neighbours)

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        c = self.config
        history = history_matrix(list(histories), self.n_items_, c.history_len, c.history_decay)
        local = history[:, self.items_]
        scores = np.zeros((len(histories), self.n_items_), dtype=np.float32)
        scores[:, self.items_] = (local @ self.weights_).toarray()
        return revisits_and_backfill(scores, history, c.repeat, c.backfill, self.popularity_)

    def reason(self) -> str:
        return "goes with and follows your recent items"
