"""The recommender contract every model follows (LensKit / scikit-learn style).

A model stores its typed config in ``__init__`` and does nothing else; ``fit(data) -> self``
learns state whose names end in ``_``; :meth:`Recommender.score` turns item histories into a
dense ``(cases, n_items)`` score matrix (higher is better) and everything else -
``recommend``, ``recommend_next``, ``similar_items``, evaluation, serving - is built on it.

A saved model holds its config, its learned state, the item ids and a fingerprint of the
training data (counts and digests), not the training histories: the users' histories are
personal data and live in the workspace. :meth:`Recommender.attach` gives a loaded model the
histories it answers from (``workflow.load_model`` reads them with the code that built the
training data); until then ``score``, ``recommend_next`` and ``similar_items`` work, and
``recommend`` for known users raises a clear error.
"""

from __future__ import annotations

import functools
import hashlib
import io
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopmind.errors import NotFittedError, RecommendError
from shopmind.evaluation.topk import check_k, top_k
from shopmind.features.sequences import Sequences
from shopmind.models.base import read_pickle
from shopmind.models.recommend.rules import BusinessRules, ItemCatalog, apply_rules
from shopmind.store.encryption import write_file

if TYPE_CHECKING:
    from shopmind.models.recommend.stacking import LearnedRanker

Recommendation = list[tuple[str, float]]
#: Models selection trained that the final fit adopts, by name (``"ranker"``: a re-ranker).
Prefitted = dict[str, "Recommender | LearnedRanker"]
#: The saved layout; other files are refused with a hint to retrain. 2: the training
#: histories are no longer saved (``attach`` brings the workspace's back).
SAVE_FORMAT = "recommender-2"
TRAIN_COMMAND = "shopmind recommend train"
#: Attributes that hold attached data or training-time helpers, never pickled.
_NOT_SAVED = ("_data", "_source", "_key_index", "_rows", "progress", "reuse", "_net")


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
    #: Already-fitted models by name that a composite (hybrid) adopts instead of refitting
    #: (``"ranker"``: the learned re-ranker selection trained).
    reuse: Prefitted | None = None
    #: Best validation metric early stopping saw (iterative models), None otherwise.
    best_validation_: float | None = None
    #: Learned attributes with one row per training key (user or session), such as ALS user
    #: factors or session kNN's neighbour pool. ``_score``'s ``keys`` index these rows; a
    #: model that has any saves a 64-bit hash of each training key (``key_hashes_``) so a
    #: loaded model lines them up with the keys of the histories it is attached to.
    keyed_state: ClassVar[tuple[str, ...]] = ()
    #: How to give a family the input :meth:`missing_input` finds missing (the error's hint).
    input_hint: ClassVar[str] = ""

    @classmethod
    def missing_input(cls, data: Sequences) -> str | None:
        """What ``data`` lacks for this family to learn (None: nothing). ``fit`` refuses such
        data, and the default selection skips the family saying why."""
        return None

    def __init__(self, config: RecommenderConfig | None = None, **overrides: Any) -> None:
        base = config.model_dump() if config is not None else {}
        self.config = self.config_class.model_validate({**base, **overrides})

    # -- learning -----------------------------------------------------------------------
    def fit(self, data: Sequences, validation: Any = None) -> Self:
        """Learn from ``data`` (and, for iterative models, stop early on ``validation``)."""
        if data.n_interactions == 0:
            raise RecommendError("No interactions to train on.")
        missing = self.missing_input(data)
        if missing is not None:
            raise RecommendError(
                f"The {self.name} model cannot learn here: {missing}.", hint=self.input_hint
            )
        self.data_ = data
        self.n_items_ = data.n_items
        self.item_ids_ = np.asarray(data.item_ids, dtype=object)
        self.item_index_ = data.item_index()
        self.popularity_ = popularity(data)
        self._forget_fingerprint()
        self._fit(data, validation)
        return self

    @abstractmethod
    def _fit(self, data: Sequences, validation: Any) -> None: ...

    def adopt(self, data: Sequences) -> Self:
        """Serve ``data`` (same item vocabulary) without re-learning: a neural model trained
        on the validation split keeps its weights and answers from the full histories."""
        if list(data.item_ids) != list(self.item_ids_):
            raise RecommendError("adopt() needs the same item vocabulary the model learned.")
        self.data_ = data
        self.popularity_ = popularity(data)
        self._forget_fingerprint()
        return self

    def _forget_fingerprint(self) -> None:
        for name in ("fingerprint_", "key_hashes_"):
            self.__dict__.pop(name, None)

    def _remember(self) -> None:
        """What a saved model keeps of the data it was fitted to (or adopted): a fingerprint,
        and each key's hash when learned state is indexed by key (computed once, at save)."""
        if "fingerprint_" not in vars(self):
            data = self.data_
            self.fingerprint_ = data.fingerprint()
            if self._keyed():
                self.key_hashes_ = key_hashes(data.keys)
        for inner in self._nested():
            inner._remember()

    # -- the histories a model answers from --------------------------------------------
    @property
    def data_(self) -> Sequences:
        """The histories ``recommend`` answers from: the training data after ``fit``, the
        attached data after :meth:`attach` (not saved with the model)."""
        data: Sequences | None = self.__dict__.get("_data")
        if data is None:
            source = self.__dict__.get("_source")
            if source is None:
                raise RecommendError(
                    f"The {self.name} recommender has no users' histories attached.",
                    hint="Load it with shopmind.models.recommend.workflow.load_model, or call "
                    "attach(sequences) with the workspace's load_sequences(...).",
                )
            self._attach_now(source())
            data = self.__dict__["_data"]
        return data

    @data_.setter
    def data_(self, data: Sequences) -> None:
        self.__dict__.update(_data=data, _source=None, _key_index=None, _rows=None)

    @property
    def key_index_(self) -> dict[str, int]:
        """External key -> row of :attr:`data_`."""
        index: dict[str, int] | None = self.__dict__.get("_key_index")
        if index is None:
            index = self.data_.key_index()
            self.__dict__["_key_index"] = index
        return index

    def attach(self, data: Sequences | Callable[[], Sequences]) -> Self:
        """Answer ``recommend`` from ``data``: the histories as ``load_sequences`` reads
        them from the workspace (a callable is called once, on first use).

        Items the model does not know are left out of the histories; keys are lined up with
        the training keys through ``key_hashes_`` (keys it never saw count as unknown, -1).
        Attached to the training data itself, the answers are those of the fitted model.
        """
        self._check_fitted()
        if self.__dict__.get("_data") is not None:
            self._remember()  # fitted here: keep its training keys to line the new rows up
        source = functools.cache(data) if callable(data) else (lambda: data)
        self.__dict__.update(_data=None, _source=source, _key_index=None, _rows=None)
        for inner in self._nested():
            inner.attach(source)
        if not callable(data):
            self._attach_now(data)
        return self

    def _attach_now(self, data: Sequences) -> None:
        if len(data.item_ids) != len(self.item_ids_) or not np.array_equal(
            np.asarray(data.item_ids, dtype=object), self.item_ids_
        ):
            data = data.on_items(self.item_ids_)
        rows: np.ndarray | None = None
        hashes = getattr(self, "key_hashes_", None)
        if hashes is not None:
            rows = line_up(hashes, key_hashes(data.keys))
        elif data.fingerprint()["key_ids"] != getattr(self, "fingerprint_", {}).get("key_ids"):
            rows = np.full(data.n_keys, -1, dtype=np.int64)  # unknown keys: none to index
        if rows is not None and np.array_equal(rows, np.arange(data.n_keys)):
            rows = None
        self.__dict__.update(_data=data, _key_index=None, _rows=rows)

    def training_keys(self, rows: np.ndarray) -> np.ndarray:
        """Rows of :attr:`data_` -> indices of the training keys (``_score``'s ``keys``),
        -1 where the model has no key-indexed state for that key."""
        rows = np.asarray(rows, dtype=np.int64)
        mapping: np.ndarray | None = self.__dict__.get("_rows")
        if mapping is None or len(rows) == 0:
            return rows
        return np.where(rows >= 0, mapping[np.maximum(rows, 0)], -1)

    def data_changed(self) -> bool:
        """True when the attached histories differ from the training data's (new events,
        forgotten users): known users are then answered from their current histories."""
        return self.drift() is not None

    def drift(self) -> dict[str, int] | None:
        """Users and interactions at training time and now when the attached histories differ
        from the training data; None when they are the same (or the model was fitted here)."""
        trained = getattr(self, "fingerprint_", None)  # absent: fitted here, not saved yet
        if trained is None:
            return None
        now = self.data_.fingerprint()
        if now == trained:
            return None
        return {
            "trained_users": int(trained["keys"]),
            "users": int(now["keys"]),
            "trained_interactions": int(trained["interactions"]),
            "interactions": int(now["interactions"]),
        }

    def _nested(self) -> list[Recommender]:
        """Recommenders held in the learned state (a hybrid's components)."""
        found: list[Recommender] = []
        for name, value in vars(self).items():
            if not name.endswith("_"):
                continue
            values = value.values() if isinstance(value, dict) else value
            if isinstance(value, Recommender):
                found.append(value)
            elif isinstance(value, list | tuple | dict):
                found.extend(v for v in values if isinstance(v, Recommender))
        return found

    def _keyed(self) -> bool:
        return bool(self.keyed_state) or any(inner._keyed() for inner in self._nested())

    def refit_overrides(self) -> dict[str, Any]:
        """Config changes for refitting on more data (e.g. the epoch early stopping chose)."""
        return {}

    def carried(self) -> Prefitted:
        """Learned parts that a refit on more data adopts (``reuse``) instead of relearning:
        those that learn on validation cases, which a refit does not have."""
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
        data, index = self.data_, self.key_index_
        rows = np.array([index.get(str(u), -1) for u in users], dtype=np.int64)
        histories = [data.seq(r) if r >= 0 else np.zeros(0, np.int32) for r in rows]
        purchased = [data.purchased.get(int(r), np.zeros(0, np.int32)) for r in rows]
        keys = self.training_keys(rows)
        out = self._top(histories, keys, k, exclude_seen, rules, catalog, purchased)
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
        """Next items for anonymous sessions given as external item-id prefixes; an empty
        prefix (a session of unknown items only) gets the most popular items."""
        self._check_fitted()
        check_k(k)
        histories = [self.encode(prefix) for prefix in prefixes]
        known = [i for i, h in enumerate(histories) if len(h)]
        keys = np.full(len(known), -1, dtype=np.int64)
        answers = self._top(
            [histories[i] for i in known], keys, k, exclude_seen, rules, catalog, None
        )
        if len(known) == len(histories):
            return answers
        popularity = np.asarray(self.popularity_, dtype=np.float64)[None, :]
        empty = [np.zeros(0, np.int32)]
        popular = self._select(popularity, k, empty, rules, catalog, None)[0]
        out: list[Recommendation] = [popular] * len(histories)
        for i, answer in zip(known, answers, strict=True):
            out[i] = answer
        return out

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
            bought = purchased[start : start + 1024] if purchased is not None else None
            out.extend(self._select(scores, k, excluded, rules, catalog, bought))
        return out

    def _select(
        self,
        scores: np.ndarray,
        k: int,
        excluded: list[np.ndarray],
        rules: BusinessRules | None,
        catalog: ItemCatalog | None,
        bought: list[np.ndarray] | None,
    ) -> list[Recommendation]:
        """The best ``k`` items of each score row, under the business rules when given."""
        if rules is not None:
            indices, values = apply_rules(scores, k, rules, catalog, excluded, bought)
        else:
            indices, values = top_k(scores, k, exclude=excluded)
        return self._pack(indices, values)

    def _pack(self, indices: np.ndarray, values: np.ndarray) -> list[Recommendation]:
        ids = self.item_ids_
        return [
            [(str(ids[i]), float(v)) for i, v in zip(row_i, row_v, strict=True) if np.isfinite(v)]
            for row_i, row_v in zip(indices, values, strict=True)
        ]

    # -- persistence --------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickled without attached histories and training-time helpers."""
        return {k: v for k, v in self.__dict__.items() if k not in _NOT_SAVED}

    def save(self, path: Path) -> Path:
        """Write config and learned state (never the training histories) to ``path``."""
        self._check_fitted()
        self._remember()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v for k, v in self.__getstate__().items() if k.endswith("_")}
        payload = {
            "format": SAVE_FORMAT,
            "name": self.name,
            "config": self.config.model_dump(),
            "state": state,
        }
        buffer = io.BytesIO()
        _NoSequencesPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
        # sealed (AES-GCM) when the path lies in an encrypted workspace
        return write_file(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> Recommender:
        """Load any saved recommender (the class comes from the file), without histories:
        :meth:`attach` them before ``recommend``."""
        from shopmind.models.recommend.registry import model_class

        payload = read_pickle(Path(path), SAVE_FORMAT, "recommender", TRAIN_COMMAND)
        klass = model_class(payload["name"])
        model = klass(klass.config_class.model_validate(payload["config"]))
        for key, value in payload["state"].items():
            setattr(model, key, value)
        return model


class _NoSequencesPickler(pickle.Pickler):
    """Refuses training data anywhere in a saved model (say, a learned ``self.train_ = data``)."""

    def persistent_id(self, obj: Any) -> None:
        if isinstance(obj, Sequences):
            raise RecommendError(
                "A recommender's learned state holds a Sequences (training data); it is not "
                "saved with the model.",
                hint="Keep only what the model learned; histories are attached on load.",
            )
        return None


def key_hashes(keys: np.ndarray) -> np.ndarray:
    """A 64-bit BLAKE2b hash of each external key (lines a model's key-indexed state up
    with the keys of the workspace without saving the keys)."""
    out = np.empty(len(keys), dtype=np.uint64)
    for n, key in enumerate(keys):
        out[n] = int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big")
    return out


def line_up(trained: np.ndarray, current: np.ndarray) -> np.ndarray:
    """For each hash in ``current``, its position in ``trained`` (-1 when absent)."""
    if len(trained) == 0:
        return np.full(len(current), -1, dtype=np.int64)
    order = np.argsort(trained, kind="stable")
    ranked = trained[order]
    at = np.minimum(np.searchsorted(ranked, current), len(ranked) - 1)
    return np.where(ranked[at] == current, order[at], -1).astype(np.int64)


def popularity(data: Sequences) -> np.ndarray:
    """Interaction counts per item, scaled so the most popular item is 1."""
    counts = np.bincount(data.items, minlength=data.n_items).astype(np.float32)
    return counts / max(float(counts.max()), 1.0)


def recency_field(weighed: str) -> Any:
    """The ``recency`` setting of a model config: the half-life of the weight of ``weighed``, as a
    share of the training period (:func:`recency_weights`); None (the default): no decay."""
    return Field(
        default=None,
        gt=0,
        description=f"half-life of the weight of {weighed}, as a share of the training period; "
        "None: no decay",
    )


def recency_weights(ages: np.ndarray, half_life: float | None) -> np.ndarray | None:
    """Weights halving every ``half_life`` of age (ages and half-life as shares of the
    training period, :meth:`Sequences.event_ages`); None when there is no decay."""
    if half_life is None:
        return None
    return np.exp2(-ages / half_life).astype(np.float32)


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
