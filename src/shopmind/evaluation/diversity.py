"""Beyond-accuracy metrics of top-k lists, one implementation for every model.

- item similarity in [0, 1]: ``1`` for two items of the same category (a missing category
  counts as one more category, "unknown"), else ``0``; when the catalogue has no categories,
  the cosine of the items' binary user vectors in the training data (co-occurrence);
- ILD@k (intra-list diversity, Ziegler et al. 2005): mean over lists of the mean pairwise
  dissimilarity ``1 - sim(i, j)`` inside the list (lists with fewer than 2 items left out);
- coverage@k: distinct recommended items / catalogue size (per segment: items recommended to
  that segment, so small segments cover less by construction);
- novelty@k: mean self-information ``-log2(share)`` over every recommended slot, ``share`` the
  item's training popularity (Zhou et al. 2010, PNAS 107:4511).

The same ``ItemSimilarity`` drives the MMR re-rank (``models.recommend.rules``), so the
diversity that is optimised is the diversity that is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

UNKNOWN = "unknown"
NO_PURCHASE = "no purchase yet"  # users outside RFM (views/carts only)


@dataclass
class ItemSimilarity:
    """Pairwise item similarity by category codes or by L2-normalised item vectors."""

    kind: str  # "category" or "cooccurrence"
    codes: np.ndarray | None = None  # int category code per item
    vectors: Any = None  # scipy.sparse CSR, one L2-normalised row per item

    @classmethod
    def from_categories(cls, categories: np.ndarray) -> ItemSimilarity:
        labels = np.array([UNKNOWN if c is None else str(c) for c in categories], dtype=object)
        _, codes = np.unique(labels.astype(str), return_inverse=True)
        return cls("category", codes=codes.astype(np.int64))

    @classmethod
    def from_interactions(cls, user_item: Any) -> ItemSimilarity:
        """Cosine of item columns of a (keys x items) 0/1 matrix (scipy sparse)."""
        from scipy import sparse

        items = sparse.csr_matrix(user_item.T, dtype=np.float32)
        norms = np.sqrt(np.asarray(items.multiply(items).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return cls("cooccurrence", vectors=sparse.diags(scale.astype(np.float32)) @ items)

    @classmethod
    def choose(
        cls, categories: np.ndarray | None, user_item: Any, min_share: float = 0.5
    ) -> ItemSimilarity:
        """Categories when at least ``min_share`` of items have one, else co-occurrence."""
        if categories is not None and len(categories):
            known = np.mean([c is not None for c in categories])
            if known >= min_share:
                return cls.from_categories(categories)
        return cls.from_interactions(user_item)

    def pairwise(self, items: np.ndarray) -> np.ndarray:
        """``(m, m)`` similarities of the given item indices (diagonal included)."""
        if self.codes is not None:
            codes = self.codes[items]
            return (codes[:, None] == codes[None, :]).astype(np.float64)
        rows = self.vectors[items]
        return np.clip((rows @ rows.T).toarray().astype(np.float64), 0.0, 1.0)


def intra_list_diversity(top: np.ndarray, similarity: ItemSimilarity) -> np.ndarray:
    """Per list: mean ``1 - sim`` over item pairs (``top`` entries < 0 are padding); NaN
    for lists with fewer than two items."""
    out = np.full(len(top), np.nan)
    for row, items in enumerate(top):
        items = items[items >= 0]
        m = len(items)
        if m < 2:
            continue
        if similarity.codes is not None:
            _, counts = np.unique(similarity.codes[items], return_counts=True)
            same = float((counts * (counts - 1)).sum()) / 2.0
        else:
            sim = similarity.pairwise(items)
            same = float(sim[np.triu_indices(m, 1)].sum())
        out[row] = 1.0 - same / (m * (m - 1) / 2.0)
    return out


def list_metrics(
    top: np.ndarray,
    n_items: int,
    popularity: np.ndarray | None,
    similarity: ItemSimilarity | None,
    k: int,
    ild: np.ndarray | None = None,
) -> dict[str, float]:
    """coverage@k, novelty@k, ild@k of lists ``top[:, :k]`` (entries < 0 are padding)."""
    top = top[:, :k]
    slots = top[top >= 0]
    out = {f"coverage@{k}": len(np.unique(slots)) / max(n_items, 1)}
    if popularity is not None and len(slots):
        share = np.clip(popularity[slots], 1e-12, None)
        out[f"novelty@{k}"] = float(np.mean(-np.log2(share)))
    if similarity is not None:
        values = intra_list_diversity(top, similarity) if ild is None else ild
        finite = values[np.isfinite(values)]
        if len(finite):
            out[f"ild@{k}"] = float(finite.mean())
    return out


def group_labels(labels: Any) -> list[str]:
    """Segment labels as text; a missing label reads "no segment"."""
    return ["no segment" if v is None or v != v else str(v) for v in labels]


def customer_segments(workspace: Any, user_ids: Sequence[Any]) -> np.ndarray | None:
    """RFM segment of each user (``analytics.rfm``), None when the workspace has no
    purchases by known users. Labels only group the report: they never feed a model."""
    from shopmind.analytics.rfm import rfm_table
    from shopmind.errors import ShopmindError
    from shopmind.features.tables import duckdb_tables

    try:
        with duckdb_tables(workspace) as tables:
            frame = rfm_table(tables).select("user_id", "segment").execute()
    except ShopmindError:
        return None
    where = dict(zip(frame["user_id"].astype(str), frame["segment"], strict=True))
    return np.array([where.get(str(u), NO_PURCHASE) for u in user_ids], dtype=object)


def segment_table(
    top: np.ndarray,
    n_items: int,
    popularity: np.ndarray | None,
    similarity: ItemSimilarity | None,
    groups: Any,
    k: int,
) -> dict[str, dict[str, float]]:
    """coverage / novelty / ILD of lists ``top`` overall and per ``groups`` label (largest
    segment first); each row also counts its lists."""
    ild = None if similarity is None else intra_list_diversity(top[:, :k], similarity)
    rows = {
        "all": {"lists": len(top), **list_metrics(top, n_items, popularity, similarity, k, ild)}
    }
    labels = np.array(group_labels(groups), dtype=object)
    names, counts = np.unique(labels, return_counts=True)
    for name in names[np.argsort(-counts, kind="stable")]:
        mask = labels == name
        part = None if ild is None else ild[mask]
        rows[str(name)] = {
            "lists": int(mask.sum()),
            **list_metrics(top[mask], n_items, popularity, similarity, k, part),
        }
    return rows
