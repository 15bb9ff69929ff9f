"""Business rules after scoring: filters mask items, diversity re-ranks, nothing else moves."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.errors import RecommendError
from shopmind.models.recommend.rules import BusinessRules, ItemCatalog, apply_rules

CATALOG = ItemCatalog(
    category=np.array(["shoes", "shoes", "shoes", "bags", "bags", None], dtype=object),
    price=np.array([10.0, 50.0, 90.0, 20.0, np.nan, 5.0]),
    in_stock=np.array([True, True, False, True, True, True]),
    title=np.array([None] * 6, dtype=object),
)
SCORES = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
NOTHING = [np.zeros(0, dtype=np.int64)]


def top(rules: BusinessRules, k: int = 6, seen=NOTHING, purchased=None) -> list[int]:
    indices, values = apply_rules(SCORES.copy(), k, rules, CATALOG, seen, purchased)
    return [int(i) for i, v in zip(indices[0], values[0], strict=True) if np.isfinite(v)]


def test_category_filters() -> None:
    assert top(BusinessRules(categories=["bags"])) == [3, 4]
    assert top(BusinessRules(exclude_categories=["shoes"])) == [3, 4, 5]


def test_price_range_drops_unknown_prices_and_stock_filter() -> None:
    assert top(BusinessRules(min_price=15, max_price=60)) == [1, 3]
    assert top(BusinessRules(in_stock_only=True)) == [0, 1, 3, 4, 5]


def test_exclude_purchased_and_seen() -> None:
    rules = BusinessRules(exclude_purchased=True)
    assert top(rules, seen=[np.array([1])], purchased=[np.array([0])]) == [2, 3, 4, 5]


def test_diversity_caps_items_per_category_keeping_score_order() -> None:
    assert top(BusinessRules(max_per_category=1), k=3) == [0, 3, 5]
    assert top(BusinessRules(max_per_category=2), k=4) == [0, 1, 3, 4]


def test_rules_needing_attributes_without_a_catalogue_fail_clearly() -> None:
    with pytest.raises(RecommendError, match="item attributes"):
        apply_rules(SCORES.copy(), 3, BusinessRules(categories=["x"]), None, NOTHING, None)
