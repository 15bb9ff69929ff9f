"""Top-k selection shared by models, evaluation and serving (a leaf: no model imports)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopmind.errors import RecommendError


def check_k(k: int) -> None:
    if k <= 0:
        raise RecommendError(
            f"k must be a positive number of items, got {k}.", hint="Ask for k >= 1."
        )


def top_k(
    scores: np.ndarray, k: int, exclude: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best items per row, best first (in place masking)."""
    if exclude is not None:
        for row, items in enumerate(exclude):
            if len(items):
                scores[row, items] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)
