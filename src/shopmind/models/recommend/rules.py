"""Business rules applied after scoring: exclusions, category/price/stock filters, diversity.

Rules never change a model's scores; they mask items (score -inf) and, for diversity,
re-rank one of two ways (shared by every model: they only read scores):

- ``max_per_category``: walk the ranking and skip an item whose category already has that
  many items in the list (the simplest form of MMR);
- ``mmr_lambda``: Maximal Marginal Relevance (Carbonell & Goldstein 1998) over the best
  ``max(50, 5k)`` candidates: pick greedily
  ``argmax_i  lambda * rel(i) - (1 - lambda) * max_{j in list} sim(i, j)``, ``rel`` the score
  min-max scaled to [0, 1] within the candidates, ``sim`` from
  ``shopmind.evaluation.diversity.ItemSimilarity`` (same category, or co-occurrence cosine when
  items have no categories). ``lambda = 1`` is the plain ranking.
Re-ranked lists keep each item's model score, so scores need not decrease down the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopmind.errors import RecommendError
from shopmind.evaluation.diversity import ItemSimilarity
from shopmind.evaluation.topk import top_k


class BusinessRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exclude_purchased: bool = False
    categories: list[str] = Field(default_factory=list, description="keep only these")
    exclude_categories: list[str] = Field(default_factory=list)
    min_price: float | None = None
    max_price: float | None = None
    in_stock_only: bool = False
    max_per_category: int | None = Field(default=None, ge=1)
    mmr_lambda: float | None = Field(default=None, ge=0.0, le=1.0)
    mmr_similarity: str = Field(default="auto", pattern="^(auto|category|cooccurrence)$")

    def diversifies(self) -> bool:
        return bool(self.max_per_category) or self.mmr_lambda is not None

    def needs_catalog(self) -> bool:
        return bool(
            self.categories
            or self.exclude_categories
            or self.in_stock_only
            or self.min_price is not None
            or self.max_price is not None
            or self.diversifies()
        )


@dataclass
class ItemCatalog:
    """Item attributes aligned with a model's item vocabulary (missing = unknown)."""

    category: np.ndarray  # object, None when unknown
    price: np.ndarray  # float, NaN when unknown
    in_stock: np.ndarray  # bool (unknown counts as in stock)
    title: np.ndarray  # object
    #: item similarity for MMR (None: by category); see ``with_similarity``
    similarity: ItemSimilarity | None = None
    #: True for items never to recommend (e.g. non-product lines); None: none
    blocked: np.ndarray | None = None
    #: object, None when unknown (reasons: "same brand as X"); None: no brands loaded
    brand: np.ndarray | None = None

    def prepare(self, rules: BusinessRules, data: Any, blocked: set[str]) -> ItemCatalog:
        """Ready for a diversity re-rank of ``data``'s items: ``blocked`` ids masked first
        (so the re-rank picks among eligible items), the MMR similarity attached."""
        self.blocked = np.isin(np.asarray(data.item_ids).astype(str), sorted(blocked))
        return self.with_similarity(data.user_item_matrix(), rules.mmr_similarity)

    def with_similarity(self, user_item: Any, kind: str = "auto") -> ItemCatalog:
        """Attach the MMR/ILD similarity: ``category``, ``cooccurrence`` (cosine of the
        items' columns in ``user_item``) or ``auto`` (categories when most items have one)."""
        if kind == "category":
            self.similarity = ItemSimilarity.from_categories(self.category)
        elif kind == "cooccurrence":
            self.similarity = ItemSimilarity.from_interactions(user_item)
        else:
            self.similarity = ItemSimilarity.choose(self.category, user_item)
        return self

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, item_ids: np.ndarray) -> ItemCatalog:
        frame = con.execute(
            "SELECT item_id, category, price, coalesce(in_stock, TRUE) AS in_stock, "
            "coalesce(title, title_zh) AS title, brand FROM items"
        ).fetchnumpy()
        where = {str(i): n for n, i in enumerate(frame["item_id"])}
        n = len(item_ids)
        category = np.full(n, None, dtype=object)
        price = np.full(n, np.nan)
        in_stock = np.ones(n, dtype=bool)
        title = np.full(n, None, dtype=object)
        brand = np.full(n, None, dtype=object)
        for idx, item in enumerate(item_ids):
            row = where.get(str(item))
            if row is None:
                continue
            category[idx] = _text(frame["category"][row])
            value: Any = frame["price"][row]
            price[idx] = np.nan if value is None or np.ma.is_masked(value) else float(value)
            in_stock[idx] = bool(frame["in_stock"][row])
            title[idx] = _text(frame["title"][row])
            brand[idx] = _text(frame["brand"][row])
        return cls(category, price, in_stock, title, brand=brand)


def _text(value: Any) -> str | None:
    """A text attribute, None when missing (fetchnumpy gives NULLs as masked values)."""
    if value is None or np.ma.is_masked(value):
        return None
    return str(value)


def item_mask(rules: BusinessRules, catalog: ItemCatalog | None, n_items: int) -> np.ndarray:
    """True for items the rules allow."""
    allowed = np.ones(n_items, dtype=bool)
    if catalog is not None and catalog.blocked is not None:
        allowed &= ~catalog.blocked
    if not rules.needs_catalog():
        return allowed
    if catalog is None:
        raise RecommendError(
            "These rules need item attributes (category, price, stock).",
            hint="Ingest an items file (`shopmind ingest items.csv --table items`).",
        )
    if rules.categories:
        allowed &= np.isin(catalog.category.astype(str), rules.categories)
    if rules.exclude_categories:
        allowed &= ~np.isin(catalog.category.astype(str), rules.exclude_categories)
    if rules.min_price is not None:
        allowed &= catalog.price >= rules.min_price
    if rules.max_price is not None:
        allowed &= catalog.price <= rules.max_price
    if rules.in_stock_only:
        allowed &= catalog.in_stock
    return allowed


def apply_rules(
    scores: np.ndarray,
    k: int,
    rules: BusinessRules,
    catalog: ItemCatalog | None,
    seen: Sequence[np.ndarray],
    purchased: Sequence[np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` per row after masking and the diversity re-rank (rows padded with -inf)."""

    scores[:, ~item_mask(rules, catalog, scores.shape[1])] = -np.inf
    if rules.exclude_purchased and purchased is not None:
        for row, items in enumerate(purchased):
            scores[row, items] = -np.inf
    if not rules.diversifies():
        return top_k(scores, k, exclude=seen)
    assert catalog is not None
    if rules.mmr_lambda is not None:
        similarity = catalog.similarity or ItemSimilarity.from_categories(catalog.category)
        return mmr(scores, k, rules.mmr_lambda, similarity, seen)
    return category_cap(scores, k, int(rules.max_per_category or k), catalog.category, seen)


def category_cap(
    scores: np.ndarray,
    k: int,
    cap: int,
    categories: np.ndarray,
    seen: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` with at most ``cap`` items per category (unknown counts as one category)."""
    wide, values = top_k(scores, min(scores.shape[1], k * 10 + 50), exclude=seen)
    indices = np.zeros((len(scores), k), dtype=np.int64)
    kept_values = np.full((len(scores), k), -np.inf)
    for row in range(len(scores)):
        taken: dict[object, int] = {}
        n = 0
        for item, value in zip(wide[row], values[row], strict=True):
            if n == k or not np.isfinite(value):
                break
            category = categories[item]
            if taken.get(category, 0) >= cap:
                continue
            taken[category] = taken.get(category, 0) + 1
            indices[row, n], kept_values[row, n] = item, value
            n += 1
    return indices, kept_values


def mmr(
    scores: np.ndarray,
    k: int,
    lam: float,
    similarity: ItemSimilarity,
    seen: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Maximal Marginal Relevance re-rank of each row (see the module docstring)."""
    pool, values = top_k(scores, min(scores.shape[1], max(50, 5 * k)), exclude=seen)
    indices = np.zeros((len(scores), k), dtype=np.int64)
    kept_values = np.full((len(scores), k), -np.inf)
    for row in range(len(scores)):
        finite = np.isfinite(values[row])
        items, value = pool[row][finite], values[row][finite].astype(np.float64)
        if not len(items):
            continue
        spread = value.max() - value.min()
        relevance = (value - value.min()) / spread if spread > 0 else np.ones(len(items))
        sim = similarity.pairwise(items)
        chosen = np.zeros(len(items), dtype=bool)
        closest = np.zeros(len(items))  # max similarity to the items already in the list
        for n in range(min(k, len(items))):
            gain = np.where(chosen, -np.inf, lam * relevance - (1.0 - lam) * closest)
            pick = int(np.argmax(gain))  # ties: the better-ranked item
            chosen[pick] = True
            closest = np.maximum(closest, sim[pick])
            indices[row, n], kept_values[row, n] = items[pick], value[pick]
    return indices, kept_values


def diversity_rules(diversity: str | None, max_per_category: int | None) -> BusinessRules | None:
    """Rules from ``--diversity none|mmr:LAMBDA[:category|cooccurrence]`` and
    ``--max-per-category N``; None when neither asks for a re-rank."""
    spec = (diversity or "none").strip().lower()
    hint = "Use --diversity mmr:0.7 (lambda in [0, 1]; optional :category or :cooccurrence)."
    if spec == "none":
        return BusinessRules(max_per_category=max_per_category) if max_per_category else None
    parts = spec.split(":")
    if parts[0] != "mmr" or len(parts) not in (2, 3):
        raise RecommendError(f"Unknown diversity re-rank '{diversity}'.", hint=hint)
    try:
        lam = float(parts[1])
    except ValueError:
        raise RecommendError(f"MMR lambda '{parts[1]}' is not a number.", hint=hint) from None
    kind = parts[2] if len(parts) == 3 else "auto"
    if not 0.0 <= lam <= 1.0 or kind not in ("auto", "category", "cooccurrence"):
        raise RecommendError(f"Bad diversity re-rank '{diversity}'.", hint=hint)
    if max_per_category:
        raise RecommendError(
            "Choose one diversity re-rank: --diversity mmr:... or --max-per-category.",
            hint="Drop one of the two options.",
        )
    return BusinessRules(mmr_lambda=lam, mmr_similarity=kind)


def diversity_setup(
    workspace: Any, data: Any, rules: BusinessRules | None
) -> tuple[Callable[..., tuple[np.ndarray, np.ndarray]] | None, ItemSimilarity]:
    """For evaluation: the re-rank the rules ask for (None: plain top-k) and the item
    similarity ILD is measured with (``auto``: categories, else co-occurrence in ``data``)."""
    with workspace.connect(read_only=True) as con:
        catalog = ItemCatalog.load(con, data.item_ids)
    user_item = data.user_item_matrix(binary=True)
    measure = ItemSimilarity.choose(catalog.category, user_item)
    if rules is None or not rules.diversifies():
        return None, measure
    kind = rules.mmr_similarity
    catalog.similarity = measure if kind == "auto" else None
    if catalog.similarity is None:
        catalog.with_similarity(user_item, kind)

    def rerank(scores: np.ndarray, k: int, seen: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return apply_rules(scores, k, rules, catalog, seen, None)

    return rerank, measure
