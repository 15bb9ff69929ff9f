"""A workspace: one directory with one DuckDB file (``shopmind.duckdb``) plus
``models/`` and ``reports/``. All canonical tables live in the DuckDB file."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from shopmind.errors import WorkspaceError
from shopmind.store import encryption
from shopmind.store.migrations import SCHEMA_VERSION, current_version, migrate

DB_FILENAME = "shopmind.duckdb"

#: Catalog name of the workspace database, the same in plain and sandboxed connections.
CATALOG = Path(DB_FILENAME).stem

#: The event types of ``events`` (its CHECK constraint; docs/schema.md).
EVENT_TYPES = ("view", "cart", "remove_cart", "favorite", "purchase", "search", "refund")
#: Formats without timestamps: their events get synthetic, increasing times (order only).
SYNTHETIC_TIME_FORMATS = ("sequences", "sessions")


def synthetic_time_format(con: duckdb.DuckDBPyConnection) -> str | None:
    """The format name when every event load came from a format without timestamps
    (``SYNTHETIC_TIME_FORMATS``): the workspace's times then carry order only, no dates."""
    formats = ", ".join(f"'{f}'" for f in SYNTHETIC_TIME_FORMATS)
    row = con.execute(
        f"SELECT min(format), count(*) FILTER (WHERE format NOT IN ({formats})), count(*) "
        "FROM ingestions WHERE target = 'events'"
    ).fetchone()
    if not row or not row[2] or row[1]:
        return None
    return str(row[0])


#: Canonical tables, in data-flow order (documented in docs/schema.md).
CANONICAL_TABLES = (
    "events",
    "users",
    "items",
    "orders",
    "order_items",
    "quarantine",
    "ingestions",
    "labels",
    "campaign_assignments",
    "tickets",
    "user_profiles",
    "risk_reviews",
    "conversations",
    "messages",
    "faq",
    "item_eligibility",
)

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_READ_ONLY_WORDS = ("permission denied", "read-only file system", "operation not permitted")


@dataclass(frozen=True)
class Workspace:
    """Paths of a workspace directory. Cheap to create; opens nothing.

    ``key`` (the value of ``SHOPMIND_WORKSPACE_KEY``) makes it an encrypted workspace: the
    database is created and opened with DuckDB's encryption and files written under ``root``
    through :mod:`shopmind.store.encryption` are sealed (docs/privacy.md).
    """

    root: Path
    key: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key is not None:
            encryption.remember(self.root, self.key)

    @property
    def encrypted(self) -> bool:
        """True when this workspace is opened with a key."""
        return self.key is not None

    @property
    def db_path(self) -> Path:
        return self.root / DB_FILENAME

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def raw_dir(self) -> Path:
        """Where generated source files (e.g. the simulator's) are kept before ingest."""
        return self.root / "raw"

    def exists(self) -> bool:
        return self.db_path.exists()

    def init(self) -> Workspace:
        """Create the directories and bring the schema to the current version."""
        self._check_root()
        for path in (self.root, self.models_dir, self.reports_dir):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                blocker = next((p for p in (path, *path.parents) if p.is_file()), path)
                raise WorkspaceError(
                    f"Cannot create workspace {self.root}: {blocker} is a file, not a directory.",
                    hint="Point --workspace (or SHOPMIND_WORKSPACE) at a directory.",
                ) from exc
            except OSError as exc:  # permission denied, read-only file system, disk full
                raise WorkspaceError(
                    f"Cannot create workspace {self.root}: {exc.strerror or exc} "
                    f"({exc.filename or path}).",
                    hint="Choose a writable location with --workspace (or SHOPMIND_WORKSPACE), "
                    "or make the directory writable.",
                ) from exc
        if self.key is not None and not self.db_path.exists():
            encryption.cipher_for(self.root, self.key)  # the marker, before the database
        with self.connect() as con:
            migrate(con)
        return self

    def _check_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(
                f"Workspace path {self.root} is a file, not a directory.",
                hint="Point --workspace (or SHOPMIND_WORKSPACE) at a directory; a new one is "
                "created when missing.",
            )

    @contextmanager
    def connect(
        self, *, read_only: bool = False, sandboxed: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with UTC as session time zone. Read-only needs an existing file.

        ``sandboxed`` (implies read-only) is for SQL that users write: the workspace is
        attached read-only to a private in-memory database whose configuration is then locked
        with external access off, so the connection cannot read or write other files, install
        or load extensions, attach databases or change settings.
        """
        read_only = read_only or sandboxed
        self._check_root()
        if read_only and not self.exists():
            raise WorkspaceError(
                f"No workspace at {self.root} (missing {DB_FILENAME}).",
                hint="Create one with `shopmind ingest FILE --format NAME` or "
                "`shopmind simulate`, or point --workspace at an existing one.",
            )
        if not read_only:
            self._check_writable()
        con = self._open_sandbox() if sandboxed else self._open(read_only)
        shared = self.key is not None and not sandboxed
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            if sandboxed:
                con.execute("SET enable_external_access = false")
                con.execute("SET lock_configuration = true")
            version = current_version(con)
            if version > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"{self.db_path} has schema version {version}, newer than this shopmind "
                    f"({SCHEMA_VERSION}).",
                    hint="Upgrade shopmind (`make demo` reinstalls it).",
                )
            yield con
        finally:
            con.close()
            if shared:
                _encrypted.release(self.db_path, read_only)

    def _check_writable(self) -> None:
        """DuckDB writes the file and a ``.wal`` beside it; say so before it fails mid-commit."""
        targets = [self.db_path] if self.db_path.exists() else []
        if self.root.is_dir():
            targets.append(self.root)
        for target in targets:
            if not os.access(target, os.W_OK):
                raise WorkspaceError(
                    f"Cannot write {self.db_path}: "
                    f"{'the file' if target == self.db_path else 'its directory'} is read-only.",
                    hint=f"Make it writable (`chmod u+w {target}`) or copy the workspace to a "
                    "writable place and use --workspace; reading commands (info, sql, analyze) "
                    "work on it as it is.",
                )

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self.key is not None:
            return _encrypted.cursor(self.db_path, self.key, read_only)
        try:
            return duckdb.connect(str(self.db_path), read_only=read_only)
        except duckdb.Error as exc:
            raise open_error(self.db_path, exc, read_only=read_only) from exc

    def _open_sandbox(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(
            ":memory:",
            config={"autoload_known_extensions": False, "autoinstall_known_extensions": False},
        )
        try:
            attach_encrypted(con, self.db_path, CATALOG, self.key, read_only=True)
        except duckdb.Error as exc:
            con.close()
            raise open_error(self.db_path, exc, read_only=True) from exc
        except WorkspaceError:
            con.close()
            raise
        return con


def attach_encrypted(
    con: duckdb.DuckDBPyConnection, path: Path, alias: str, key: str | None, *, read_only: bool
) -> None:
    """Attach a workspace database file to ``con`` as ``alias`` and make it the default
    catalog; with ``key`` through DuckDB's encryption (the httpfs extension loaded first, spill
    files encrypted). Spill files go beside the file, as with a plain connection to it."""
    if key is not None:
        con.execute(f"LOAD {encryption.sql_string(str(encryption.httpfs_extension()))}")
        con.execute("SET temp_file_encryption = true")
    con.execute(encryption.attach_sql(path, alias, key, read_only=read_only))
    con.execute(f"USE {alias}")
    con.execute(f"SET temp_directory = {encryption.sql_string(str(path) + '.tmp')}")


class _EncryptedInstances:
    """One in-memory DuckDB per encrypted file and mode, shared by nested ``connect()``
    calls of this process through cursors (what ``duckdb.connect(path)`` does for plain
    files); closed, releasing the file lock, when the last cursor closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[Path, bool], tuple[duckdb.DuckDBPyConnection, int]] = {}

    def cursor(self, path: Path, key: str, read_only: bool) -> duckdb.DuckDBPyConnection:
        slot = (path.resolve(), read_only)
        with self._lock:
            if slot in self._open:
                base, users = self._open[slot]
            else:
                base = duckdb.connect(
                    ":memory:",
                    config={
                        "autoload_known_extensions": False,
                        "autoinstall_known_extensions": False,
                    },
                )
                try:
                    attach_encrypted(base, path, CATALOG, key, read_only=read_only)
                except duckdb.Error as exc:
                    base.close()
                    raise open_error(path, exc, read_only=read_only) from exc
                except WorkspaceError:
                    base.close()
                    raise
                users = 0
            self._open[slot] = (base, users + 1)
        cur = base.cursor()
        cur.execute(f"USE {CATALOG}")
        return cur

    def release(self, path: Path, read_only: bool) -> None:
        """Give back one cursor's share; the last one closes the instance."""
        slot = (path.resolve(), read_only)
        with self._lock:
            base, users = self._open[slot]
            if users > 1:
                self._open[slot] = (base, users - 1)
                return
            del self._open[slot]
        base.close()


_encrypted = _EncryptedInstances()


def open_error(db_path: Path, exc: duckdb.Error, *, read_only: bool) -> WorkspaceError:
    """A WorkspaceError saying why ``db_path`` cannot be opened and what to do."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    keyed = encryption.translate(db_path, text)
    if keyed is not None:
        return keyed
    holder = _LOCK_HOLDER.search(text)
    if holder or "could not set lock" in text.lower():
        who = (
            f"process {holder['pid']} ({Path(holder['program']).name})"
            if holder
            else "another process"
        )
        kill = f" or stop it (`kill {holder['pid']}`)" if holder else ""
        return WorkspaceError.locked(
            f"{db_path} is locked by {who}.",
            db_path=db_path,
            hint=f"Wait for that command to finish{kill}, then retry. DuckDB lets one "
            "process write a workspace, or several read it, never both at once.",
        )
    if any(word in text.lower() for word in _READ_ONLY_WORDS):
        if read_only:
            return WorkspaceError(
                f"Cannot read {db_path}: permission denied.",
                hint=f"Make it readable (`chmod u+r {db_path}`) or run as its owner.",
            )
        return WorkspaceError(
            f"Cannot write {db_path}: the file or its directory is read-only.",
            hint=f"Make it writable (`chmod u+w {db_path} {db_path.parent}`) or copy the "
            "workspace to a writable place and use --workspace; reading commands "
            "(info, sql, analyze) work on it as it is.",
        )
    if any(w in text.lower() for w in ("different configuration", "already attached")):
        return WorkspaceError(
            f"{db_path} is already open in this process with other settings.",
            hint="Close the other connection first (one workspace, one open mode per process).",
        )
    return WorkspaceError(
        f"Cannot open {db_path}: {first}",
        hint=f"Check that it is a shopmind workspace database ({DB_FILENAME}) and not "
        "damaged; restore it from a copy or create a new workspace.",
    )
