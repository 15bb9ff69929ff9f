"""Interaction sequences read from the canonical ``events`` table (the models' only input).

A *sequence* is one user's items in time order (or, for events without a user, one
session's). Items are indexed ``0..n_items-1`` in a fixed vocabulary; sequences are stored
CSR-style (``indptr`` into flat ``items``/``times``) so that 10^6 events cost a few MB.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError

#: Event types that say "this visitor wanted this item" (search/refund/remove_cart do not).
INTERACTION_TYPES = ("view", "cart", "favorite", "purchase")


@dataclass
class Sequences:
    """Per-key item sequences over an item vocabulary.

    ``keys``: external user (or session) ids; ``item_ids``: external item ids by index;
    ``indptr``/``items``/``times``: CSR layout, ``times`` in epoch seconds; ``texts``: item
    text by index; ``tags``: catalogue attributes by index (:func:`item_tags`).
    """

    keys: np.ndarray
    item_ids: np.ndarray
    indptr: np.ndarray
    items: np.ndarray
    times: np.ndarray
    kind: str = "users"
    purchased: dict[int, np.ndarray] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    tags: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_keys(self) -> int:
        return len(self.keys)

    @property
    def n_interactions(self) -> int:
        return len(self.items)

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def seq(self, i: int) -> np.ndarray:
        return self.items[self.indptr[i] : self.indptr[i + 1]]

    def histories(self) -> list[np.ndarray]:
        return [self.seq(i) for i in range(self.n_keys)]

    def item_index(self) -> dict[str, int]:
        return {str(item): i for i, item in enumerate(self.item_ids)}

    def key_index(self) -> dict[str, int]:
        return {str(key): i for i, key in enumerate(self.keys)}

    def event_ages(self) -> np.ndarray:
        """Each interaction's age at the newest one, as a share of the period the data spans:
        0 for the newest, 1 for the oldest (all 0 when every time is the same)."""
        if len(self.times) == 0:
            return np.zeros(0, dtype=np.float32)
        newest, oldest = int(self.times.max()), int(self.times.min())
        if newest == oldest:
            return np.zeros(len(self.times), dtype=np.float32)
        return ((newest - self.times) / (newest - oldest)).astype(np.float32)

    def key_ages(self) -> np.ndarray:
        """Each key's age (:meth:`event_ages`) at its newest interaction; 1 for a key without
        any."""
        ages = np.ones(self.n_keys, dtype=np.float32)
        filled = self.lengths() > 0
        if filled.any():
            ages[filled] = np.minimum.reduceat(self.event_ages(), self.indptr[:-1][filled])
        return ages

    def user_item_matrix(self, binary: bool = True) -> Any:  # scipy.sparse.csr_matrix
        """Keys x items counts (or 0/1), the input of ItemKNN and matrix factorisation."""
        from scipy import sparse

        rows = np.repeat(np.arange(self.n_keys), self.lengths())
        matrix = sparse.csr_matrix(
            (np.ones(len(self.items), dtype=np.float32), (rows, self.items)),
            shape=(self.n_keys, self.n_items),
        )
        matrix.sum_duplicates()
        if binary:
            matrix.data[:] = 1.0
        return matrix

    def subset(self, keep: list[np.ndarray], times: list[np.ndarray]) -> Sequences:
        """Same keys and vocabulary, other sequences (used by the splits)."""
        lengths = np.array([len(s) for s in keep], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(keep).astype(np.int32) if len(keep) else np.zeros(0, np.int32)
        flat_t = np.concatenate(times).astype(np.int64) if len(times) else np.zeros(0, np.int64)
        return Sequences(
            self.keys,
            self.item_ids,
            indptr,
            flat,
            flat_t,
            self.kind,
            self.purchased,
            self.texts,
            self.tags,
        )

    def on_items(self, item_ids: np.ndarray) -> Sequences:
        """The same keys and histories over another vocabulary ``item_ids`` (a trained
        model's): items it lacks are left out of histories, purchases, texts and tags."""
        target = {str(item): i for i, item in enumerate(item_ids)}
        mapping = np.array([target.get(str(i), -1) for i in self.item_ids], dtype=np.int64)
        mapped = mapping[self.items] if len(self.items) else np.zeros(0, np.int64)
        kept = mapped >= 0
        key_of = np.repeat(np.arange(self.n_keys), self.lengths())[kept]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(key_of, minlength=self.n_keys))])
        purchased = {
            k: mapping[v][mapping[v] >= 0].astype(np.int32) for k, v in self.purchased.items()
        }
        return Sequences(
            keys=self.keys,
            item_ids=np.asarray(item_ids, dtype=object),
            indptr=indptr.astype(np.int64),
            items=mapped[kept].astype(np.int32),
            times=self.times[kept],
            kind=self.kind,
            purchased={k: v for k, v in purchased.items() if len(v)},
            texts={int(mapping[i]): t for i, t in self.texts.items() if mapping[i] >= 0},
            tags={int(mapping[i]): t for i, t in self.tags.items() if mapping[i] >= 0},
        )

    def fingerprint(self) -> dict[str, Any]:
        """Counts and SHA-256 digests that tell whether two ``Sequences`` hold the same data
        (saved with a model instead of the data itself)."""

        def digest(*parts: Any) -> str:
            h = hashlib.sha256()
            for part in parts:
                h.update(part if isinstance(part, bytes) else "\x1f".join(map(str, part)).encode())
                h.update(b"\x1e")
            return h.hexdigest()

        return {
            "kind": self.kind,
            "keys": self.n_keys,
            "items": self.n_items,
            "interactions": self.n_interactions,
            "item_ids": digest(self.item_ids),
            "key_ids": digest(self.keys),
            "histories": digest(
                np.ascontiguousarray(self.indptr, np.int64).tobytes(),
                np.ascontiguousarray(self.items, np.int32).tobytes(),
            ),
        }


def item_tags(category: str | None, brand: str | None) -> tuple[str, ...]:
    """An item's catalogue attributes as tokens: ``category:`` + each level of each category
    path (paths split at ``>``, several categories at ``|`` or ``;``: "Beauty > Face" gives
    ``category:beauty`` and ``category:beauty>face``) and ``brand:`` + the brand, lower-cased."""
    tags: list[str] = []
    for path in re.split(r"[|;]", category or ""):
        levels = [part.strip().lower() for part in path.split(">") if part.strip()]
        tags += ["category:" + ">".join(levels[: n + 1]) for n in range(len(levels))]
    if brand and brand.strip():
        tags.append("brand:" + brand.strip().lower())
    return tuple(dict.fromkeys(tags))


def from_lists(
    sequences: list[list[str]], keys: list[str] | None = None, kind: str = "users"
) -> Sequences:
    """Build from Python lists of external item ids (tests, the sessions endpoint)."""
    vocab: dict[str, int] = {}
    for seq in sequences:
        for item in seq:
            vocab.setdefault(str(item), len(vocab))
    items = [np.array([vocab[str(i)] for i in seq], dtype=np.int32) for seq in sequences]
    times = [np.arange(len(seq), dtype=np.int64) * 60 for seq in sequences]
    base = Sequences(
        keys=np.array(keys or [str(i) for i in range(len(sequences))], dtype=object),
        item_ids=np.array(list(vocab), dtype=object),
        indptr=np.zeros(1, np.int64),
        items=np.zeros(0, np.int32),
        times=np.zeros(0, np.int64),
        kind=kind,
    )
    return base.subset(items, times)


def load_sequences(
    con: duckdb.DuckDBPyConnection,
    event_types: tuple[str, ...] = INTERACTION_TYPES,
    collapse_repeats: bool | None = None,
) -> Sequences:
    """Read every key's interactions in time order from the workspace.

    Keys are user ids, or session ids for anonymous events (``kind="sessions"``).
    ``collapse_repeats`` merges immediate repeats of the same item (a reload of a page is
    not a new interest); by default only for users: in anonymous sessions a repeat is a real
    next event (9% of Diginetica's next items repeat the last one).
    Non-product items (``item_eligibility``: postage, fees...) are left out entirely, so no
    model learns from or recommends them.
    """
    from shopmind.features.eligibility import excluded_items, excluded_sql

    types = ", ".join(f"'{t}'" for t in event_types)
    products = f"item_id NOT IN ({excluded_sql()})" if excluded_items(con) else "TRUE"
    base = f"""
        SELECT coalesce(user_id, session_id) AS key, user_id, item_id, ts, event_id, event_type
        FROM events
        WHERE item_id IS NOT NULL AND coalesce(user_id, session_id) IS NOT NULL
          AND event_type IN ({types}) AND {products}
    """
    ordered = f"""
        SELECT key, item_id, epoch(ts)::BIGINT AS t, ts, event_id, event_type,
               lag(item_id) OVER (PARTITION BY key ORDER BY ts, event_id) AS previous
        FROM ({base})
    """
    has_user = con.execute(
        f"SELECT count(*) FILTER (WHERE user_id IS NOT NULL) > 0 FROM ({base})"
    ).fetchone()
    kind = "users" if has_user and has_user[0] else "sessions"
    collapse = (kind == "users") if collapse_repeats is None else collapse_repeats
    keep = "previous IS DISTINCT FROM item_id" if collapse else "TRUE"
    # one item vocabulary: every interacted item plus catalogue items nobody touched yet
    item_ids = con.execute(
        f"SELECT item_id FROM (SELECT item_id FROM ({base}) UNION SELECT item_id FROM items "
        f"WHERE {products}) ORDER BY item_id"
    ).fetchnumpy()["item_id"]
    item_ids = np.array(list(item_ids), dtype=object)
    # ordered down to (ts, event_id): events of the same second come back in one order on
    # every read, so a loaded model re-reading the histories sees the training order
    raw = con.execute(
        f"""
        WITH kept AS (SELECT * FROM ({ordered}) WHERE {keep}),
             keys AS (SELECT key, row_number() OVER (ORDER BY key) - 1 AS kdx
                      FROM (SELECT DISTINCT key FROM kept))
        SELECT keys.kdx, kept.t, kept.event_type = 'purchase' AS bought,
               kept.key, kept.item_id
        FROM kept JOIN keys USING (key)
        ORDER BY keys.kdx, kept.ts, kept.event_id
        """
    ).fetchnumpy()
    frame: dict[str, np.ndarray] = {name: np.asarray(v) for name, v in raw.items()}
    if len(frame["kdx"]) == 0:
        raise ShopmindError(
            "The workspace has no item interactions to learn from.",
            hint="Ingest events with item ids first: `shopmind ingest FILE --format ...`.",
        )
    kdx = frame["kdx"].astype(np.int64)
    idx = pd.Index(item_ids).get_indexer(frame["item_id"]).astype(np.int32)
    n_keys = int(kdx.max()) + 1
    keys = np.empty(n_keys, dtype=object)
    keys[kdx] = frame["key"]
    indptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.add.at(indptr, kdx + 1, 1)
    indptr = np.cumsum(indptr)
    sequences = Sequences(
        keys=keys,
        item_ids=item_ids,
        indptr=indptr,
        items=idx,
        times=frame["t"].astype(np.int64),
        kind=kind,
    )
    # one read of the catalogue: the text of items with a title or description (content
    # model) and the category and brand tokens (attributes model)
    catalogue = con.execute(
        "SELECT item_id, category, brand, CASE WHEN coalesce(title, title_zh, description) "
        "IS NOT NULL THEN concat_ws('. ', title, title_zh, description, category, brand) END "
        "FROM items WHERE coalesce(title, title_zh, description, category, brand) IS NOT NULL"
    ).fetchall()
    index = sequences.item_index()
    known = [(index[str(i)], c, b, text) for i, c, b, text in catalogue if str(i) in index]
    sequences.texts = {i: text for i, _, _, text in known if text is not None}
    tagged = ((i, item_tags(c, b)) for i, c, b, _ in known)
    sequences.tags = {i: t for i, t in tagged if t}
    bought = frame["bought"].astype(bool)
    if bought.any():
        pairs = np.unique(np.stack([kdx[bought], idx[bought]], axis=1), axis=0)
        cuts = np.flatnonzero(np.diff(pairs[:, 0])) + 1
        for group in np.split(pairs, cuts):
            sequences.purchased[int(group[0, 0])] = group[:, 1].astype(np.int32)
    return sequences


def history_matrix(
    histories: list[np.ndarray], n_items: int, last_n: int | None = None, decay: float = 1.0
) -> Any:  # scipy.sparse.csr_matrix
    """Cases x items weights: the last item weighs 1, the one before ``decay``, and so on.

    Only the ``last_n`` most recent items count (all when None); a repeated item keeps its
    most recent (largest) weight.
    """
    from scipy import sparse

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for row, history in enumerate(histories):
        recent = history[-last_n:] if last_n else history
        if len(recent) == 0:
            continue
        items, distance = np.unique(np.asarray(recent)[::-1], return_index=True)
        rows.append(np.full(len(items), row))
        cols.append(items.astype(np.int64))
        vals.append(np.power(decay, distance, dtype=np.float64))
    if not rows:
        return sparse.csr_matrix((len(histories), n_items), dtype=np.float32)
    return sparse.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(histories), n_items),
    )
