"""Business rules applied after scoring: exclusions, category/price/stock filters, diversity.

Rules never change a model's scores; they mask items (score -inf) and, for diversity,
re-rank greedily: walk the ranking and skip an item whose category already has
``max_per_category`` items in the list (Carbonell & Goldstein's MMR idea in its simplest form).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopmind.errors import RecommendError
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

    def needs_catalog(self) -> bool:
        return bool(
            self.categories
            or self.exclude_categories
            or self.in_stock_only
            or self.min_price is not None
            or self.max_price is not None
            or self.max_per_category
        )


@dataclass
class ItemCatalog:
    """Item attributes aligned with a model's item vocabulary (missing = unknown)."""

    category: np.ndarray  # object, None when unknown
    price: np.ndarray  # float, NaN when unknown
    in_stock: np.ndarray  # bool (unknown counts as in stock)
    title: np.ndarray  # object

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, item_ids: np.ndarray) -> ItemCatalog:
        frame = con.execute(
            "SELECT item_id, category, price, coalesce(in_stock, TRUE) AS in_stock, "
            "coalesce(title, title_zh) AS title FROM items"
        ).fetchnumpy()
        where = {str(i): n for n, i in enumerate(frame["item_id"])}
        n = len(item_ids)
        category = np.full(n, None, dtype=object)
        price = np.full(n, np.nan)
        in_stock = np.ones(n, dtype=bool)
        title = np.full(n, None, dtype=object)
        for idx, item in enumerate(item_ids):
            row = where.get(str(item))
            if row is None:
                continue
            category[idx] = _text(frame["category"][row])
            value: Any = frame["price"][row]
            price[idx] = np.nan if value is None or np.ma.is_masked(value) else float(value)
            in_stock[idx] = bool(frame["in_stock"][row])
            title[idx] = _text(frame["title"][row])
        return cls(category, price, in_stock, title)


def _text(value: Any) -> str | None:
    """A text attribute, None when missing (fetchnumpy gives NULLs as masked values)."""
    if value is None or np.ma.is_masked(value):
        return None
    return str(value)


def item_mask(rules: BusinessRules, catalog: ItemCatalog | None, n_items: int) -> np.ndarray:
    """True for items the rules allow."""
    allowed = np.ones(n_items, dtype=bool)
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
    if not rules.max_per_category:
        return top_k(scores, k, exclude=seen)
    assert catalog is not None
    wide, values = top_k(scores, min(scores.shape[1], k * 10 + 50), exclude=seen)
    indices = np.zeros((len(scores), k), dtype=np.int64)
    kept_values = np.full((len(scores), k), -np.inf)
    for row in range(len(scores)):
        taken: dict[object, int] = {}
        n = 0
        for item, value in zip(wide[row], values[row], strict=True):
            if n == k or not np.isfinite(value):
                break
            category = catalog.category[item]
            if taken.get(category, 0) >= rules.max_per_category:
                continue
            taken[category] = taken.get(category, 0) + 1
            indices[row, n], kept_values[row, n] = item, value
            n += 1
    return indices, kept_values
