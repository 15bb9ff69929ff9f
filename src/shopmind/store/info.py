"""What a workspace holds: tables with row counts and date ranges, the ingestion log, the
schema version (``shopmind info``, the console's Data page, ``shopmind serve``)."""

from __future__ import annotations

from typing import Any

import duckdb

from shopmind.store.migrations import SCHEMA_VERSION
from shopmind.store.outputs import stale_models
from shopmind.store.workspace import CANONICAL_TABLES, Workspace

#: The column a table's date range is read from.
DATE_COLUMNS = {
    "events": "ts",
    "orders": "ts",
    "users": "signup_ts",
    "tickets": "ts",
    "campaign_assignments": "sent_ts",
    "ingestions": "finished_at",
}
#: Columns of the ingestion log, in order.
INGESTION_COLUMNS = (
    "ingestion_id",
    "file",
    "format",
    "target",
    "rows_in",
    "rows_loaded",
    "rows_quarantined",
    "duplicates_skipped",
    "events_loaded",
    "pseudonymized",
    "finished_at",
)


def table_summary(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Each canonical table present: ``table``, ``rows`` and, for dated tables, ``from`` and
    ``to`` (the earliest and latest date)."""
    existing = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    tables = []
    for table in (t for t in CANONICAL_TABLES if t in existing):
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # names from a constant
        entry: dict[str, Any] = {"table": table, "rows": int(row[0]) if row else 0}
        if table in DATE_COLUMNS:
            column = DATE_COLUMNS[table]
            lo, hi = con.execute(
                f"SELECT min({column}), max({column}) FROM {table}"
            ).fetchone() or (
                None,
                None,
            )
            entry["from"], entry["to"] = lo, hi
        tables.append(entry)
    return tables


def ingestion_log(
    con: duckdb.DuckDBPyConnection, *, newest_first: bool = False, limit: int | None = None
) -> list[dict[str, Any]]:
    """The loads recorded in ``ingestions`` (:data:`INGESTION_COLUMNS`), oldest first."""
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT {', '.join(INGESTION_COLUMNS)} FROM ingestions ORDER BY finished_at {order}"
    rows = con.execute(
        sql + (" LIMIT ?" if limit is not None else ""), [] if limit is None else [limit]
    )
    return [dict(zip(INGESTION_COLUMNS, r, strict=True)) for r in rows.fetchall()]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to the file (0 before any)."""
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def events_pseudonymized(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the latest event load pseudonymised user ids (True before any load)."""
    rows = con.execute(
        "SELECT pseudonymized FROM ingestions WHERE target = 'events' "
        "ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()
    return bool(rows[0][0]) if rows else True


def workspace_info(workspace: Workspace) -> dict[str, Any]:
    """Tables with row counts and date ranges, stale models, the ingestion log, the schema
    version of the file and of this shopmind (``shopmind info --json``)."""
    with workspace.connect(read_only=True) as con:
        tables = table_summary(con)
        ingestions = ingestion_log(con)
        version = schema_version(con)
        stale = stale_models(con, workspace)  # marked by `forget`, cleared by retraining
    return {
        "workspace": str(workspace.root),
        "database": str(workspace.db_path),
        "size_bytes": workspace.db_path.stat().st_size,
        "schema_version": version,
        "shopmind_schema_version": SCHEMA_VERSION,
        "tables": tables,
        "stale_models": stale,
        "ingestions": ingestions,
    }
