"""A workspace: one directory with one DuckDB file (``shopmind.duckdb``) plus
``models/`` and ``reports/``. All canonical tables live in the DuckDB file."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from shopmind.errors import WorkspaceError
from shopmind.store.migrations import SCHEMA_VERSION, current_version, migrate

DB_FILENAME = "shopmind.duckdb"

#: Catalog name of the workspace database, the same in plain and sandboxed connections.
CATALOG = Path(DB_FILENAME).stem

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
    """Paths of a workspace directory. Cheap to create; opens nothing."""

    root: Path

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
            path = str(self.db_path).replace("'", "''")
            con.execute(f"ATTACH '{path}' AS {CATALOG} (READ_ONLY)")
            con.execute(f"USE {CATALOG}")
            # spill files where a plain connection to the file would put them
            con.execute(f"SET temp_directory = '{path}.tmp'")
        except duckdb.Error as exc:
            con.close()
            raise open_error(self.db_path, exc, read_only=True) from exc
        return con


def open_error(db_path: Path, exc: duckdb.Error, *, read_only: bool) -> WorkspaceError:
    """A WorkspaceError saying why ``db_path`` cannot be opened and what to do."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    holder = _LOCK_HOLDER.search(text)
    if holder or "could not set lock" in text.lower():
        who = (
            f"process {holder['pid']} ({Path(holder['program']).name})"
            if holder
            else "another process"
        )
        kill = f" or stop it (`kill {holder['pid']}`)" if holder else ""
        return WorkspaceError(
            f"{db_path} is locked by {who}.",
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
    if "different configuration" in text.lower() or "already attached" in text.lower():
        return WorkspaceError(
            f"{db_path} is already open in this process with other settings.",
            hint="Close the other connection first (one workspace, one open mode per process).",
        )
    return WorkspaceError(
        f"Cannot open {db_path}: {first}",
        hint=f"Check that it is a shopmind workspace database ({DB_FILENAME}) and not "
        "damaged; restore it from a copy or create a new workspace.",
    )
