from pathlib import Path

import duckdb
import pytest

from shopmind.errors import WorkspaceError
from shopmind.store import CANONICAL_TABLES, SCHEMA_VERSION, Workspace, migrate
from shopmind.store.migrations import MIGRATIONS
from tests.conftest import query


def test_init_creates_layout_and_canonical_tables(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "w").init()
    assert ws.db_path.name == "shopmind.duckdb" and ws.db_path.exists()
    assert ws.models_dir.is_dir() and ws.reports_dir.is_dir()
    tables = {r[0] for r in query(ws, "SELECT table_name FROM information_schema.tables")}
    assert set(CANONICAL_TABLES) <= tables
    columns = [r[0] for r in query(ws, "DESCRIBE events")]
    assert columns[:11] == [
        "event_id",
        "user_id",
        "session_id",
        "item_id",
        "event_type",
        "ts",
        "quantity",
        "price",
        "order_id",
        "query",
        "source",
    ]
    ts_type = next(r[1] for r in query(ws, "DESCRIBE events") if r[0] == "ts")
    assert ts_type == "TIMESTAMP WITH TIME ZONE"


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "w").init()
    ws.init()
    with ws.connect() as con:
        assert migrate(con) == []
    versions = query(ws, "SELECT version FROM schema_migrations ORDER BY version")
    assert versions == sorted((m.version,) for m in MIGRATIONS)
    assert versions[-1] == (SCHEMA_VERSION,)


def test_event_type_constraint_rejects_unknown_types(workspace: Workspace) -> None:
    with workspace.connect() as con, pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO events (event_id, event_type, ts, ingestion_id) "
            "VALUES ('e', 'teleport', now(), 'i')"
        )


def test_newer_schema_is_refused(workspace: Workspace) -> None:
    with workspace.connect() as con:
        con.execute("INSERT INTO schema_migrations VALUES (999, 'future', now())")
    with pytest.raises(WorkspaceError, match="newer than this shopmind"), workspace.connect():
        pass


def test_read_only_on_missing_workspace_says_what_to_do(tmp_path: Path) -> None:
    nowhere = Workspace(tmp_path / "nothing")
    with pytest.raises(WorkspaceError, match="shopmind ingest"), nowhere.connect(read_only=True):
        pass
