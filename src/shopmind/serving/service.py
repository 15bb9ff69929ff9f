"""What one running service holds: the workspace's write connection (owned by the writer),
the model and its precomputed answers, the keys, rate limits and session histories.

The connection is opened before the server starts (so a locked workspace fails the command
clearly) and kept until it stops: the service owns the workspace's writes. Request threads
read through their own cursor of the same database (a consistent snapshot per query).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import threading
import time
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
from shopmind.store.vault import vault_key
from shopmind.store.workspace import CATALOG

log = logging.getLogger("shopmind.serving")

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
    #: SHOPMIND_VAULT_KEY when set (else the vault key derives from the workspace's key)
    vault_key: str | None = None
    #: The workspace's pseudonymisation key even when posted user ids are stored as given
    #: (``--pseudonymize off``): audit targets and the vault key derive from it, as the
    #: CLI's do. None: ``pseudonymize_key`` (when set) stands in for it.
    workspace_key: bytes | None = None


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
        self._cursors: list[duckdb.DuckDBPyConnection] = []
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

    def close(self, checkpoint_wait: float = 5.0) -> None:
        """Land what is pending, checkpoint and release the workspace (once).

        The request threads' cursors are closed first. A transaction still open elsewhere
        (a request thread the server gave up on) is given ``checkpoint_wait`` seconds; after
        that the checkpoint is left to the next open (DuckDB replays its write-ahead log, so
        nothing committed is lost) and one warning line says so."""
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
            self._close_cursors()
            self._checkpoint(checkpoint_wait)
        finally:
            self._stack.close()

    def _close_cursors(self) -> None:
        with self._cursor_lock:
            cursors, self._cursors = self._cursors, []
        for cur in cursors:
            with contextlib.suppress(duckdb.Error):  # in use by a thread still running
                cur.close()

    def _checkpoint(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while True:
            try:
                self.con.execute("CHECKPOINT")
                return
            except duckdb.TransactionException as exc:
                if time.monotonic() >= deadline:
                    log.warning(
                        "checkpoint left to the next start (%s); committed data is in the "
                        "write-ahead log",
                        str(exc).split(". ")[0],
                    )
                    return
            time.sleep(0.05)

    # -- reads --------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor on the service's database."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.new_cursor()
            cur.execute("SET TimeZone = 'UTC'")
            self._local.cursor = cur
        return cur

    def new_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the service's database, closed when the service stops."""
        with self._cursor_lock:
            cur = self.con.cursor()
            self._cursors.append(cur)
        cur.execute(f"USE {CATALOG}")  # an encrypted workspace is an attached catalog
        return cur

    @contextmanager
    def tables(self) -> Iterator[Any]:
        """Ibis tables over this thread's cursor (for the analytics library functions), periods
        in the reporting time zone as in the CLI (the cursor is back on UTC afterwards)."""
        from shopmind.features.tables import ibis_tables

        cursor = self.cursor()
        try:
            yield ibis_tables(cursor)
        finally:
            cursor.execute("SET TimeZone = 'UTC'")

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

    def audit_user_id(self, user_id: str) -> str:
        """A user id as an audit target names it: a pseudonym as sent, anything else
        pseudonymised with the workspace's key, as the CLI's entries (a plain hash without a
        key). Never the raw id, also when the workspace stores ids as given."""
        if is_pseudonym(user_id):
            return user_id
        key = self.options.workspace_key or self.options.pseudonymize_key
        if key is not None:
            return pseudonymize(user_id, key)
        return "h_" + hashlib.sha256(user_id.encode()).hexdigest()[:20]

    def vault_keys(self) -> list[bytes]:
        """The vault keys this service holds, as the CLI's: SHOPMIND_VAULT_KEY's and the one
        derived from the workspace's pseudonymisation key (rows name the key that wrote
        them, so both are tried)."""
        derived = self.options.workspace_key or self.options.pseudonymize_key
        keys = [vault_key(None, self.options.vault_key), vault_key(derived)]
        return [k for k in keys if k is not None]

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
