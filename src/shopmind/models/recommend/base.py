"""The recommender contract every model follows (LensKit / scikit-learn style).

A model stores its typed config in ``__init__`` and does nothing else; ``fit(data) -> self``
learns state whose names end in ``_``; :meth:`Recommender.score` turns item histories into a
dense ``(cases, n_items)`` score matrix (higher is better) and everything else -
``recommend``, ``recommend_next``, ``similar_items``, evaluation, serving - is built on it.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict

from shopmind.errors import NotFittedError, RecommendError
from shopmind.evaluation.topk import check_k, top_k
from shopmind.features.sequences import Sequences
from shopmind.models.recommend.rules import BusinessRules, ItemCatalog, apply_rules
from shopmind.store.encryption import read_file, write_file

Recommendation = list[tuple[str, float]]


class RecommenderConfig(BaseModel):
    """Hyperparameters common to all recommenders."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 0


class Recommender(ABC):
    """Base class: subclasses set ``name``/``config_class`` and implement ``_fit``/``score``."""

    name: ClassVar[str]
    config_class: ClassVar[type[RecommenderConfig]] = RecommenderConfig
    #: True when ``score`` understands histories of unknown keys (anonymous sessions).
    handles_sessions: ClassVar[bool] = True
    #: False for models that give every user the same list (popularity, trending).
    personalised: ClassVar[bool] = True

    # -- the training workflow's protocol (set by shopmind.models.recommend.workflow) --
    #: One-line progress messages from long fits (epochs, validation metric); None = silent.
    progress: Callable[[str], None] | None = None
    #: Already-fitted models by name that a composite (hybrid) adopts instead of refitting.
    reuse: dict[str, Recommender] | None = None
    #: Best validation metric early stopping saw (iterative models), None otherwise.
    best_validation_: float | None = None

    def __init__(self, config: RecommenderConfig | None = None, **overrides: Any) -> None:
        base = config.model_dump() if config is not None else {}
        self.config = self.config_class.model_validate({**base, **overrides})

    # -- learning -----------------------------------------------------------------------
    def fit(self, data: Sequences, validation: Any = None) -> Self:
        """Learn from ``data`` (and, for iterative models, stop early on ``validation``)."""
        if data.n_interactions == 0:
            raise RecommendError("No interactions to train on.")
        self.data_ = data
        self.n_items_ = data.n_items
        self.item_index_ = data.item_index()
        self.key_index_ = data.key_index()
        self.popularity_ = popularity(data)
        self._fit(data, validation)
        return self

    @abstractmethod
    def _fit(self, data: Sequences, validation: Any) -> None: ...

    def adopt(self, data: Sequences) -> Self:
        """Serve ``data`` (same item vocabulary) without re-learning: a neural model trained
        on the validation split keeps its weights and answers from the full histories."""
        if list(data.item_ids) != list(self.data_.item_ids):
            raise RecommendError("adopt() needs the same item vocabulary the model learned.")
        self.data_ = data
        self.key_index_ = data.key_index()
        self.popularity_ = popularity(data)
        return self

    def refit_overrides(self) -> dict[str, Any]:
        """Config changes for refitting on more data (e.g. the epoch early stopping chose)."""
        return {}

    def reason(self) -> str:
        """A short phrase shown next to recommendations."""
        return f"recommended by {self.name}"

    @abstractmethod
    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        """Scores ``(len(histories), n_items)``; ``keys`` index training keys, -1 if unknown."""

    def score(self, histories: Sequence[np.ndarray], keys: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        if keys is None:
            keys = np.full(len(histories), -1, dtype=np.int64)
        scores = self._score(histories, np.asarray(keys, dtype=np.int64))
        return np.asarray(scores, dtype=np.float32)

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise NotFittedError(
                f"The {self.name} recommender is not trained.",
                hint=f"Train it: `shopmind recommend train --model {self.name}`.",
            )

    # -- answers ------------------------------------------------------------------------
    def recommend(
        self,
        users: Sequence[str],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        rules: BusinessRules | None = None,
        catalog: ItemCatalog | None = None,
    ) -> list[Recommendation]:
        """Top-``k`` items for known users (unknown users get an empty list)."""
        self._check_fitted()
        check_k(k)
        rows = np.array([self.key_index_.get(str(u), -1) for u in users], dtype=np.int64)
        histories = [self.data_.seq(r) if r >= 0 else np.zeros(0, np.int32) for r in rows]
        purchased = [self.data_.purchased.get(int(r), np.zeros(0, np.int32)) for r in rows]
        out = self._top(histories, rows, k, exclude_seen, rules, catalog, purchased)
        return [rec if r >= 0 else [] for rec, r in zip(out, rows, strict=True)]

    def recommend_next(
        self,
        prefixes: Sequence[Sequence[str]],
        k: int = 10,
        *,
        exclude_seen: bool = False,
        rules: BusinessRules | None = None,
        catalog: ItemCatalog | None = None,
    ) -> list[Recommendation]:
        """Next items for anonymous sessions given as external item-id prefixes."""
        self._check_fitted()
        check_k(k)
        histories = [self.encode(prefix) for prefix in prefixes]
        keys = np.full(len(histories), -1, dtype=np.int64)
        return self._top(histories, keys, k, exclude_seen, rules, catalog, None)

    def similar_items(self, items: Sequence[str], k: int = 10) -> list[Recommendation]:
        """Items most like each given item (the item itself left out)."""
        self._check_fitted()
        check_k(k)
        histories = [self.encode([item]) for item in items]
        scores = self._item_similarity(np.array([h[0] for h in histories]))
        return [
            self._pack(*top_k(row[None, :], k, exclude=[h]))[0]
            for row, h in zip(scores, histories, strict=True)
        ]

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        """Default: the scores of a one-item history. Models with an item space override."""
        return self.score([np.array([i], dtype=np.int32) for i in items])

    def encode(self, external: Sequence[str]) -> np.ndarray:
        """External item ids -> indices; unknown ids raise (callers filter them first)."""
        unknown = [str(i) for i in external if str(i) not in self.item_index_]
        if unknown:
            raise RecommendError(
                f"Unknown item ids: {', '.join(unknown[:5])}"
                + (f" (+{len(unknown) - 5} more)" if len(unknown) > 5 else "")
                + ".",
                hint="Use ids of items seen in the training data.",
            )
        return np.array([self.item_index_[str(i)] for i in external], dtype=np.int32)

    def _top(
        self,
        histories: list[np.ndarray],
        keys: np.ndarray,
        k: int,
        exclude_seen: bool,
        rules: BusinessRules | None,
        catalog: ItemCatalog | None,
        purchased: list[np.ndarray] | None,
    ) -> list[Recommendation]:
        out: list[Recommendation] = []
        for start in range(0, len(histories), 1024):
            part = histories[start : start + 1024]
            scores = self.score(part, keys[start : start + 1024])
            excluded = list(part) if exclude_seen else [np.zeros(0, np.int32)] * len(part)
            if rules is not None:
                bought = purchased[start : start + 1024] if purchased is not None else None
                indices, values = apply_rules(scores, k, rules, catalog, excluded, bought)
            else:
                indices, values = top_k(scores, k, exclude=excluded)
            out.extend(self._pack(indices, values))
        return out

    def _pack(self, indices: np.ndarray, values: np.ndarray) -> list[Recommendation]:
        ids = self.data_.item_ids
        return [
            [(str(ids[i]), float(v)) for i, v in zip(row_i, row_v, strict=True) if np.isfinite(v)]
            for row_i, row_v in zip(indices, values, strict=True)
        ]

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        self._check_fitted()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and k != "net_"}
        payload = {"name": self.name, "config": self.config.model_dump(), "state": state}
        # sealed (AES-GCM) when the path lies in an encrypted workspace
        return write_file(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: Path) -> Recommender:
        """Load any saved recommender (the class comes from the file)."""
        from shopmind.models.recommend.registry import model_class

        if not path.exists():
            raise NotFittedError(
                f"No trained recommender at {path}.",
                hint="Train one: `shopmind recommend train`.",
            )
        payload = pickle.loads(read_file(path))
        klass = model_class(payload["name"])
        model = klass(klass.config_class.model_validate(payload["config"]))
        for key, value in payload["state"].items():
            setattr(model, key, value)
        return model


def popularity(data: Sequences) -> np.ndarray:
    """Interaction counts per item, scaled so the most popular item is 1."""
    counts = np.bincount(data.items, minlength=data.n_items).astype(np.float32)
    return counts / max(float(counts.max()), 1.0)


def revisits_and_backfill(
    scores: np.ndarray, history: Any, repeat: float, backfill: float, item_popularity: np.ndarray
) -> np.ndarray:
    """Finish neighbourhood scores in place: ``repeat`` x the row's best score x the history's
    own (recency) weights, so re-visits can rank; then ``backfill`` x popularity, a tiny
    term that orders the items the model has no opinion on."""
    if repeat > 0:
        top = scores.max(axis=1, keepdims=True)
        scores += repeat * np.where(top > 0, top, 1.0) * history.toarray()
    scores += backfill * item_popularity[None, :]
    return scores
