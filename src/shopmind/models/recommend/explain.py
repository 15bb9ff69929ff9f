"""Why an item is recommended, in words that name where it comes from.

For a model that reads the user's history, the reason names the history item most often
taken together with the recommended one in the training data ("bought together with X"
when the data is purchases only, else "chosen together with X"; co-occurrence counts over
users), else the most recent history item of the same brand
("same brand as X (B)"); without such an item, or for a model that gives everyone
the same list, it names the item's category ("popular in category Y") or, for one of the 5%
most interacted-with items, "popular across the shop"; otherwise the model's own phrase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.rules import ItemCatalog

#: History items considered per user (the most recent ones).
RECENT = 50
#: Share of items called "popular across the shop" (by interaction count).
POPULAR_SHARE = 0.05


@dataclass
class Explainer:
    """Reasons for one fitted model over its training data."""

    model: Recommender
    catalog: ItemCatalog
    matrix: Any  # scipy.sparse.csc_matrix, keys x items, 0/1
    verb: str
    popular: np.ndarray  # bool per item: among the most interacted-with items

    @classmethod
    def for_model(cls, model: Recommender, catalog: ItemCatalog) -> Explainer:
        data = model.data_
        counts = np.bincount(data.items, minlength=data.n_items)
        popular = counts >= np.quantile(counts, 1 - POPULAR_SHARE) if len(counts) else counts > 0
        matrix = data.user_item_matrix(binary=True).tocsc()
        # "bought together" only when every user-item pair counted was a purchase (an order
        # log); views in the counts make it "chosen together" (Tmall: viewed, never bought)
        bought_pairs = sum(len(v) for v in data.purchased.values())
        verb = "bought" if bought_pairs and bought_pairs >= matrix.nnz else "chosen"
        return cls(model, catalog, matrix, verb, popular & (counts > 0))

    def title(self, index: int) -> str:
        title = self.catalog.title[index]
        item = str(self.model.data_.item_ids[index])
        return f"{title} ({item})" if title else item

    def _category(self, index: int) -> str | None:
        return _label(self.catalog.category, index)

    def _same_brand(self, item: int, recent: np.ndarray) -> str | None:
        """The reason "same brand as X (B)": X the most recent history item of ``item``'s
        brand B (None without one)."""
        brand = _label(self.catalog.brand, item)
        if brand is None:
            return None
        for past in recent[::-1]:
            if _label(self.catalog.brand, int(past)) == brand:
                return f"same brand as {self.title(int(past))} ({brand})"
        return None

    def reasons(self, user: str, items: Sequence[str]) -> list[str]:
        """One reason per recommended item id of ``user``."""
        model = self.model
        index = [model.item_index_[str(i)] for i in items]
        row = model.key_index_.get(str(user), -1)
        recent = model.data_.seq(row)[-RECENT:] if row >= 0 else np.zeros(0, np.int32)
        history = np.unique(recent)
        together = np.zeros((len(index), 0))
        if model.personalised and len(history) and len(index):
            together = (self.matrix[:, index].T @ self.matrix[:, history]).toarray()
        out = []
        for n, item in enumerate(index):
            if together.shape[1] and together[n].max() > 0:
                best = int(history[int(np.argmax(together[n]))])
                out.append(f"{self.verb} together with {self.title(best)}")
                continue
            same_brand = self._same_brand(item, recent) if model.personalised else None
            if same_brand is not None:
                out.append(same_brand)
                continue
            category = self._category(item)
            if category is not None:
                out.append(f"popular in category {category}")
            elif self.popular[item]:
                out.append("popular across the shop")
            else:
                out.append(model.reason())
        return out


def _label(values: np.ndarray | None, index: int) -> str | None:
    """A catalogue label (category, brand) of item ``index``; None when unknown or empty."""
    value = None if values is None else values[index]
    return None if value is None or value != value or value == "" else str(value)
