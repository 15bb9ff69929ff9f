"""The read-only query library: every escape refused before it runs, and the sandboxed
connection refusing the same things on its own (defence in depth)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from shopmind.errors import QueryError, QueryRefusedError
from shopmind.store import Workspace
from shopmind.store.query import check_read_only, run_read_only


def seeded_workspace(root: Path) -> Workspace:
    """A small workspace: 3 users, 2 items, 5 events (used by the CLI lockdown tests too)."""
    ws = Workspace(root).init()
    with ws.connect() as con:
        con.execute(
            "INSERT INTO users (user_id, country, ingestion_id) VALUES "
            "('u1', 'CN', 'i'), ('u2', 'DE', 'i'), ('u3', 'CN', 'i')"
        )
        con.execute(
            "INSERT INTO items (item_id, title, price, ingestion_id) VALUES "
            "('a', 'tea', 3.5, 'i'), ('b', 'cup', 7.0, 'i')"
        )
        con.execute(
            "INSERT INTO events (event_id, user_id, item_id, event_type, ts, ingestion_id) VALUES "
            "('e1', 'u1', 'a', 'view', '2024-01-01 10:00:00+00', 'i'),"
            "('e2', 'u1', 'a', 'purchase', '2024-01-01 10:05:00+00', 'i'),"
            "('e3', 'u2', 'b', 'view', '2024-01-02 09:00:00+00', 'i'),"
            "('e4', 'u3', 'b', 'cart', '2024-01-03 12:00:00+00', 'i'),"
            "('e5', 'u3', 'a', 'view', '2024-01-03 12:01:00+00', 'i')"
        )
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return seeded_workspace(tmp_path_factory.mktemp("query") / "ws")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# (SQL, words the refusal must contain); {out} is a scratch directory that must stay empty.
ESCAPES = [
    ("COPY (SELECT * FROM users) TO '{out}/leak.csv'", "COPY"),
    ("COPY users TO '{out}/leak.parquet' (FORMAT parquet)", "COPY"),
    ("COPY users FROM '/etc/passwd'", "COPY"),
    ("EXPORT DATABASE '{out}/exported'", "EXPORT DATABASE"),
    ("IMPORT DATABASE '{out}/exported'", "IMPORT DATABASE"),
    ("INSTALL httpfs", "INSTALL"),
    ("FORCE INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("LOAD '{out}/evil.duckdb_extension'", "LOAD"),
    ("ATTACH '{out}/other.duckdb' AS other", "ATTACH"),
    ("DETACH shopmind", "DETACH"),
    ("USE memory", "USE"),
    ("SET enable_external_access = true", "SET"),
    ("SET memory_limit = '1TB'", "SET"),
    ("RESET threads", "RESET"),
    ("PRAGMA version", "PRAGMA"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("CALL pragma_version()", "CALL"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("VACUUM", "VACUUM"),
    ("CREATE TABLE t AS SELECT 1", "CREATE"),
    ("CREATE MACRO m(x) AS x", "CREATE"),
    ("CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE"),
    ("INSERT INTO users (user_id, ingestion_id) VALUES ('x', 'y')", "INSERT"),
    ("UPDATE users SET country = 'XX'", "UPDATE"),
    ("DELETE FROM events", "DELETE"),
    ("TRUNCATE events", "TRUNCATE"),
    ("DROP TABLE events", "DROP"),
    ("ALTER TABLE events ADD COLUMN x INT", "ALTER"),
    ("COMMENT ON TABLE events IS 'x'", "COMMENT"),
    ("BEGIN TRANSACTION", "transactions"),
    ("EXPLAIN ANALYZE COPY users TO '{out}/x.csv'", "EXPLAIN"),
    ("PREPARE p AS SELECT 1", "PREPARE"),
    ("UPDATE EXTENSIONS", "UPDATE"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto()"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob()"),
    ("SELECT * FROM read_json_auto('/etc/passwd')", "read_json_auto()"),
    ("SELECT * FROM read_ndjson('/etc/passwd')", "read_ndjson()"),
    ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet()"),
    ("SELECT * FROM parquet_scan('/etc/passwd')", "parquet_scan()"),
    ("SELECT * FROM parquet_metadata('/etc/passwd')", "parquet_metadata()"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv()"),
    ("SELECT * FROM glob('/home/*')", "glob()"),
    ("SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", "query()"),
    ("SELECT * FROM query_table('events')", "query_table()"),
    ("SELECT * FROM enable_logging(storage_path => '{out}/log')", "enable_logging()"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings()"),
    ("SELECT write_log('x')", "write_log()"),
    ("SELECT * FROM '/etc/passwd'", "names a file"),
    ('SELECT * FROM "{out}/x.csv"', "names a file"),
    ("DESCRIBE '/etc/passwd'", "names a file"),
    ("SUMMARIZE (SELECT * FROM read_csv('/etc/passwd'))", "read_csv()"),
    # hidden deeper: CTE, subqueries, joins, lateral, lambdas, set operations
    ("WITH p AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM p", "read_csv()"),
    (
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r, glob('/*') "
        "WHERE n < 2) SELECT * FROM r",
        "glob()",
    ),
    ("SELECT (SELECT count(*) FROM read_text('/etc/passwd')) AS n", "read_text()"),
    (
        "SELECT * FROM events WHERE user_id IN (SELECT content FROM read_text('/etc/passwd'))",
        "read_text()",
    ),
    ("SELECT * FROM events e JOIN read_csv('/etc/passwd') p ON true", "read_csv()"),
    ("SELECT * FROM events, LATERAL (SELECT * FROM read_blob('/etc/passwd'))", "read_blob()"),
    ("SELECT list_transform([1], x -> (SELECT count(*) FROM glob('/*')))", "glob()"),
    ("SELECT 1 UNION ALL SELECT count(*) FROM read_text('/etc/passwd')", "read_text()"),
    # several statements, whatever hides them
    ("SELECT 1; SELECT 2", "2 statements"),
    ("SELECT 1; COPY users TO '{out}/leak.csv'", "2 statements"),
    ("SELECT * FROM events --\n; COPY users TO '{out}/leak.csv'", "2 statements"),
    ("SELECT 1 /* ; */ ; INSTALL httpfs", "2 statements"),
    # comments, letter case and quoting
    ("/* SELECT */ COPY users TO '{out}/leak.csv' -- SELECT", "COPY"),
    ("-- just a query\ncopy users to '{out}/leak.csv'", "COPY"),
    ("InStAlL httpfs", "INSTALL"),
    ("sElEcT * FrOm ReAd_CsV('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM \"read_csv\"('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM main.read_csv('/etc/passwd')", "read_csv()"),
    ("", "No SQL"),
    ("   \n  ", "No SQL"),
    ("-- only a comment", "No SQL"),
]


@pytest.mark.parametrize(("sql", "words"), ESCAPES, ids=[e[0][:50] for e in ESCAPES])
def test_escape_is_refused_before_it_runs(
    ws: Workspace, tmp_path: Path, sql: str, words: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = _digest(ws.db_path)
    with pytest.raises(QueryRefusedError) as refused:
        run_read_only(ws, sql.format(out=out))
    message = str(refused.value)
    assert words in message, message
    assert "\n" not in message
    assert refused.value.hint  # says what to do instead
    assert list(out.iterdir()) == []
    assert _digest(ws.db_path) == before


def test_allowed_queries_return_rows(ws: Workspace) -> None:
    joined = run_read_only(
        ws,
        "WITH buyers AS (SELECT DISTINCT user_id FROM events WHERE event_type = 'purchase') "
        "SELECT u.country, count(*) AS n, sum(i.price) AS spend FROM events e "
        "JOIN users u USING (user_id) JOIN items i USING (item_id) "
        "WHERE e.user_id NOT IN (SELECT user_id FROM buyers) GROUP BY 1 ORDER BY 1",
    )
    assert joined.columns == ["country", "n", "spend"]
    assert joined.rows == [("CN", 2, 10.5), ("DE", 1, 7.0)]
    assert run_read_only(ws, "FROM events SELECT count(*)").rows == [(5,)]
    assert run_read_only(ws, "SELECT sum(range) FROM range(4)").rows == [(6,)]
    assert ("events",) in run_read_only(ws, "SELECT table_name FROM duckdb_tables()").rows
    assert "event_id" in {r[0] for r in run_read_only(ws, "DESCRIBE events").rows}
    assert run_read_only(ws, "SELECT 'a;b' AS s -- trailing comment").rows == [("a;b",)]
    assert run_read_only(ws, "VALUES (1), (2)").rows == [(1,), (2,)]
    assert run_read_only(ws, "SELECT current_setting('TimeZone')").rows == [("UTC",)]


def test_limit_marks_truncation(ws: Workspace) -> None:
    result = run_read_only(ws, "SELECT event_id FROM events ORDER BY 1", limit=2)
    assert result.rows == [("e1",), ("e2",)] and result.truncated
    assert not run_read_only(ws, "SELECT 1", limit=2).truncated
    assert run_read_only(ws, "SELECT 1", limit=0).rows == []


def test_failures_are_query_errors(ws: Workspace) -> None:
    with pytest.raises(QueryError, match="Parser Error"):
        run_read_only(ws, "SELEC 1")
    with pytest.raises(QueryError, match="nope") as missing:
        run_read_only(ws, "SELECT * FROM nope")
    assert "events" in missing.value.hint


def test_check_returns_the_single_statement() -> None:
    assert check_read_only("  SELECT 1 ;").strip().rstrip(";").strip() == "SELECT 1"


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("COPY (SELECT * FROM users) TO '{out}/leak.csv'", duckdb.PermissionException),
        ("EXPORT DATABASE '{out}/exported'", duckdb.PermissionException),
        ("SELECT * FROM read_csv('/etc/passwd')", duckdb.PermissionException),
        ("SELECT * FROM glob('/home/*')", duckdb.PermissionException),
        ("ATTACH '{out}/other.duckdb' AS other", duckdb.PermissionException),
        ("INSTALL httpfs", duckdb.PermissionException),
        ("LOAD httpfs", duckdb.PermissionException),
        ("SET enable_external_access = true", duckdb.InvalidInputException),
        ("SET memory_limit = '1TB'", duckdb.InvalidInputException),
        ("INSERT INTO users (user_id, ingestion_id) VALUES ('x', 'y')", duckdb.Error),
        ("DROP TABLE events", duckdb.Error),
    ],
)
def test_sandbox_refuses_on_its_own(
    ws: Workspace, tmp_path: Path, sql: str, error: type[Exception]
) -> None:
    """Without the parser check the sandboxed connection still holds."""
    out = tmp_path / "out"
    out.mkdir()
    home = Path.home() / ".duckdb"
    had_extensions = home.exists()
    before = _digest(ws.db_path)
    with ws.connect(sandboxed=True) as con, pytest.raises(error):
        con.execute(sql.format(out=out))
    assert list(out.iterdir()) == []
    assert _digest(ws.db_path) == before
    assert home.exists() == had_extensions


def test_two_sandboxes_at_once(ws: Workspace) -> None:
    """The coming HTTP API may run queries concurrently in one process."""
    with ws.connect(sandboxed=True) as a, ws.connect(sandboxed=True) as b:
        assert a.execute("SELECT count(*) FROM users").fetchone() == (3,)
        assert b.execute("SELECT count(*) FROM items").fetchone() == (2,)
