"""A workspace: one directory with one DuckDB file (``shopmind.duckdb``) plus
``models/`` and ``reports/``. All canonical tables live in the DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from shopmind.errors import WorkspaceError
from shopmind.store.migrations import SCHEMA_VERSION, current_version, migrate

DB_FILENAME = "shopmind.duckdb"

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
)


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
        for path in (self.root, self.models_dir, self.reports_dir):
            path.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            migrate(con)
        return self

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with UTC as session time zone. Read-only needs an existing file."""
        if read_only and not self.exists():
            raise WorkspaceError(
                f"No workspace at {self.root} (missing {DB_FILENAME}).",
                hint="Create one with `shopmind ingest FILE --format NAME` or "
                "`shopmind simulate`, or point --workspace at an existing one.",
            )
        try:
            con = duckdb.connect(str(self.db_path), read_only=read_only)
        except duckdb.IOException as exc:
            raise WorkspaceError(
                f"Cannot open {self.db_path}: {exc}",
                hint="Another shopmind process may be writing to it; wait for it to finish.",
            ) from exc
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
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
