"""What one running service holds: the workspace's write connection (owned by the writer),
the model and its precomputed answers, the keys, rate limits and session histories.

The connection is opened before the server starts (so a locked workspace fails the command
clearly) and kept until it stops: the service owns the workspace's writes. Request threads
read through their own cursor of the same database (a consistent snapshot per query).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np

from shopmind.errors import NotFittedError
from shopmind.ingest import IngestOptions
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.rules import ItemCatalog
from shopmind.privacy import is_pseudonym, pseudonymize
from shopmind.security import TokenBuckets
from shopmind.security.keys import ApiKey, key_id_of, list_keys
from shopmind.serving.events import EventLoader
from shopmind.serving.sessions import Event, SessionHistory
from shopmind.serving.writer import Writer
from shopmind.store import Workspace, migrate
from shopmind.store.audit import AuditChain, AuditEntry, fold, head_path
from shopmind.store.workspace import CATALOG

#: Lists kept per user when answers are precomputed at start-up (deeper asks are computed).
CACHED_K = 100


@dataclass(frozen=True)
class ServeOptions:
    """How the service runs (``shopmind serve --help``)."""

    model: str | None = None
    #: HMAC key for user ids; None stores and looks up user ids as given.
    pseudonymize_key: bytes | None = None
    rate_limit: float = 1000.0  # requests per second per key (0: off)
    burst: float | None = None
    failed_auth_rate: float = 20.0  # refused keys per second per client address
    max_body_bytes: int = 1 << 20
    max_pending_events: int = 50_000
    precompute_users: int = 500_000
    cors_origins: tuple[str, ...] = ()
    require_model: bool = False
    console_idle_minutes: float = 30.0  # web console sessions end after this idle time
    #: SHOPMIND_VAULT_KEY when set (else the vault key derives from ``pseudonymize_key``)
    vault_key: str | None = None


@dataclass
class Principal:
    """Who calls: the key's id and role."""

    key_id: str
    role: str
    name: str | None = None
    rate_limit: float | None = None

    @property
    def id(self) -> str:
        return f"key:{self.key_id}"


def precompute(model: Recommender, max_users: int) -> dict[str, list[tuple[str, float]]]:
    """Every known user's unfiltered top-``CACHED_K`` list, scored in batches at start-up
    (the model is a fixed snapshot, so the answers are too); skipped above ``max_users``."""
    users = list(model.key_index_)
    if len(users) > max_users:
        return {}
    cache: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(users), 2048):
        part = users[start : start + 2048]
        cache.update(zip(part, model.recommend(part, CACHED_K), strict=True))
    return cache


@dataclass
class Recommending:
    """The trained model and what is derived from it once."""

    model: Recommender
    catalog: ItemCatalog | None
    cache: dict[str, list[tuple[str, float]]]
    popular: list[tuple[str, float]]
    categories: set[str] = field(default_factory=set)
    #: Users erased while this model serves: unknown from then on, as after a restart.
    forgotten: set[str] = field(default_factory=set)

    def key_of(self, stored_id: str) -> str | None:
        """``stored_id`` when the model knows the user and they were not erased since."""
        if stored_id in self.forgotten or stored_id not in self.model.key_index_:
            return None
        return stored_id

    def forget(self, stored_id: str) -> None:
        """Stop answering for an erased user (their precomputed list goes too)."""
        self.cache.pop(stored_id, None)
        self.forgotten.add(stored_id)

    @classmethod
    def build(
        cls, model: Recommender, catalog: ItemCatalog | None, precompute_users: int
    ) -> Recommending:
        order = np.argsort(-model.popularity_, kind="stable")
        popular = [
            (str(model.data_.item_ids[i]), float(model.popularity_[i])) for i in order[:1000]
        ]
        categories = {str(c) for c in catalog.category if c is not None} if catalog else set()
        return cls(model, catalog, precompute(model, precompute_users), popular, categories)


class Service:
    def __init__(self, workspace: Workspace, options: ServeOptions) -> None:
        self.workspace = workspace
        self.options = options
        self._stack = ExitStack()
        workspace.init()
        self.con: duckdb.DuckDBPyConnection = self._stack.enter_context(workspace.connect())
        try:
            migrate(self.con)
            fold(self.con, workspace)  # chain what read-only commands journaled meanwhile
            self.recommending = self._load_model()
            self.keys: dict[str, ApiKey] = {k.key_id: k for k in list_keys(self.con)}
        except BaseException:
            self._stack.close()
            raise
        self.limits = TokenBuckets(options.rate_limit, options.burst)
        self.failed_auth = TokenBuckets(options.failed_auth_rate)
        self._closed = False
        self.on_close: list[Callable[[], None]] = []
        self._local = threading.local()
        self._cursor_lock = threading.Lock()
        self.sessions = SessionHistory(self._session_events)
        key = options.pseudonymize_key
        self.loader = EventLoader(
            IngestOptions(
                format="generic",
                pseudonymize=key is not None,
                key=key or b"",
                vault_key=options.vault_key,
            )
        )
        self.writer = Writer(
            self.con,
            self.loader,
            AuditChain(self.con, head_path(workspace)),
            self.sessions,
            max_pending_events=options.max_pending_events,
        )
        # the model and millions of precomputed answers live as long as the process: keep
        # them out of the collector's full passes (which otherwise stall requests for 100 ms)
        gc.collect()
        gc.freeze()

    # -- set-up -------------------------------------------------------------------------
    def _load_model(self) -> Recommending | None:
        from shopmind.models.recommend.workflow import load_model

        try:
            model = load_model(self.workspace, self.options.model, con=self.con)
        except NotFittedError:
            if self.options.require_model or self.options.model is not None:
                raise
            return None
        has_items = self.con.execute("SELECT count(*) FROM items").fetchall()[0][0]
        catalog = ItemCatalog.load(self.con, model.data_.item_ids) if has_items else None
        return Recommending.build(model, catalog, self.options.precompute_users)

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        """Land what is pending, checkpoint and release the workspace (once)."""
        if self._closed:
            return
        self._closed = True
        for hook in self.on_close:  # e.g. the console's background work, before the file goes
            hook()
        if not self.writer.started:
            self.writer.start()  # to write what was queued before the server ran
        self.writer.audit(AuditEntry("service", None, "serve stop", None, "ok"))
        self.writer.close()
        try:
            self.con.execute("CHECKPOINT")
        finally:
            self._stack.close()

    # -- reads --------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor on the service's database."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursor_lock:
                cur = self.con.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(f"USE {CATALOG}")  # an encrypted workspace is an attached catalog
            self._local.cursor = cur
        return cur

    @contextmanager
    def tables(self) -> Iterator[Any]:
        """Ibis tables over this thread's cursor (for the analytics library functions)."""
        import ibis

        from shopmind.features.tables import ANALYTIC_TABLES, Tables

        backend = ibis.duckdb.from_connection(self.cursor())
        yield Tables(backend, {name: backend.table(name) for name in ANALYTIC_TABLES})

    def _session_events(self, session_id: str) -> list[Event]:
        rows = (
            self.cursor()
            .execute(
                "SELECT event_id, item_id, ts, event_type FROM events "
                "WHERE session_id = ? AND item_id IS NOT NULL ORDER BY ts, event_id LIMIT 5000",
                [session_id],
            )
            .fetchall()
        )
        return [(str(e), str(i), t, str(k)) for e, i, t, k in rows]

    def stored_user_id(self, user_id: str) -> str:
        """The id a user is stored under (its pseudonym when ids are pseudonymised)."""
        key = self.options.pseudonymize_key
        return pseudonymize(user_id, key) if key is not None else user_id

    def request_user_id(self, user_id: str) -> str:
        """The stored id a request names, which may be the raw customer id or the stored
        pseudonym itself (as analysts and the console use): a pseudonym, or an id the model
        knows, is kept; anything else is pseudonymised (kept in a plain-id workspace)."""
        if self.options.pseudonymize_key is None or is_pseudonym(user_id):
            return user_id
        rec = self.recommending
        if rec is not None and user_id in rec.model.key_index_:
            return user_id
        return self.stored_user_id(user_id)

    def person_id(self, user_id: str) -> str:
        """The id to store for a person a request names (a new conversation's customer): the
        workspace's id for them, or the one its loads would give them
        (:func:`shopmind.store.erasure.stored_id_for`; never a raw id in a pseudonymised
        workspace)."""
        from shopmind.store.erasure import stored_id_for

        return stored_id_for(self.cursor(), user_id, self.options.pseudonymize_key)

    # -- keys ---------------------------------------------------------------------------
    def find_key(self, token: str) -> tuple[ApiKey | None, str]:
        """(the stored key, '') when ``token`` is a usable key, else (key or None, why not)."""
        key_id = key_id_of(token)
        stored = self.keys.get(key_id) if key_id else None
        if stored is None or not stored.matches(token):
            return None, "Unknown API key."
        status = stored.status(datetime.now(UTC))
        if status != "active":
            return stored, f"API key {stored.key_id} is {status}."
        return stored, ""
