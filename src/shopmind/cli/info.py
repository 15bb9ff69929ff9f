"""``shopmind info``, ``shopmind sql`` and ``shopmind formats``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shopmind.cli._output import print_json, print_table, stdout
from shopmind.cli.state import state
from shopmind.ingest import FORMATS
from shopmind.store import CANONICAL_TABLES, SCHEMA_VERSION, Workspace
from shopmind.store.outputs import stale_models
from shopmind.store.query import run_read_only

_DATE_COLUMNS = {
    "events": "ts",
    "orders": "ts",
    "users": "signup_ts",
    "tickets": "ts",
    "campaign_assignments": "sent_ts",
    "ingestions": "finished_at",
}


def workspace_info(workspace: Workspace) -> dict[str, Any]:
    """Tables with row counts and date ranges, plus the ingestion log."""
    with workspace.connect(read_only=True) as con:
        tables = []
        existing = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        for table in (t for t in CANONICAL_TABLES if t in existing):
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            entry: dict[str, Any] = {"table": table, "rows": int(row[0]) if row else 0}
            if table in _DATE_COLUMNS:
                column = _DATE_COLUMNS[table]
                lo, hi = con.execute(
                    f"SELECT min({column}), max({column}) FROM {table}"
                ).fetchone() or (None, None)
                entry["from"], entry["to"] = lo, hi
            tables.append(entry)
        log = con.execute(
            "SELECT ingestion_id, file, format, target, rows_in, rows_loaded, rows_quarantined, "
            "duplicates_skipped, events_loaded, pseudonymized, finished_at FROM ingestions "
            "ORDER BY finished_at"
        )
        names = [d[0] for d in log.description]
        ingestions = [dict(zip(names, r, strict=True)) for r in log.fetchall()]
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
        stale = stale_models(con, workspace)  # marked by `forget`, cleared by retraining
    return {
        "workspace": str(workspace.root),
        "database": str(workspace.db_path),
        "size_bytes": workspace.db_path.stat().st_size,
        "schema_version": int(version[0]) if version and version[0] is not None else 0,
        "shopmind_schema_version": SCHEMA_VERSION,
        "tables": tables,
        "stale_models": stale,
        "ingestions": ingestions,
    }


def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Tables, row counts, date ranges and the ingestion log of the workspace."""
    result = workspace_info(state(ctx).workspace)
    if as_json:
        print_json(result)
        return
    stdout.print(
        f"workspace {result['database']} (schema v{result['schema_version']}, "
        f"{result['size_bytes'] / 1e6:.1f} MB)",
        highlight=False,
    )
    print_table(
        "tables",
        ["table", "rows", "from", "to"],
        [[t["table"], f"{t['rows']:,}", t.get("from"), t.get("to")] for t in result["tables"]],
    )
    if result["stale_models"]:  # trained on data of an erased user (`shopmind forget`)
        stale = [[m["path"], m["stale_since"]] for m in result["stale_models"]]
        print_table("stale models (retrain them)", ["path", "since"], stale)
    print_table(
        "ingestions",
        ["file", "format", "in", "loaded", "quarantined", "duplicates"],
        [
            [
                i["file"],
                i["format"],
                i["rows_in"],
                i["rows_loaded"],
                i["rows_quarantined"],
                i["duplicates_skipped"],
            ]
            for i in result["ingestions"]
        ],
    )


def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='SQL query, e.g. "SELECT count(*) FROM events".')],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of row objects.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=0, help="Print at most this many rows (default: all).")
    ] = None,
) -> None:
    """Read-only SQL on the workspace (DuckDB dialect): one query, no file or network access.

    COPY, EXPORT, INSTALL, ATTACH, SET, PRAGMA, writes and read_csv/glob-like are refused.
    """
    result = run_read_only(state(ctx).workspace, query, limit=limit)
    if as_json:
        print_json(result.records())
        return
    print_table(None, result.columns, result.rows)
    if result.truncated:
        stdout.print(f"(first {limit} rows shown; --limit to change)", highlight=False)


def formats(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Named source formats with their primary key and write disposition."""
    rows = [
        {
            "format": name,
            "description": f.description,
            "primary_key": f.primary_key,
            "write_disposition": f.write_disposition,
            "target": f.target,
        }
        for name, f in FORMATS.items()
    ]
    if as_json:
        print_json(rows)
        return
    print_table(
        "formats",
        ["format", "primary key", "disposition", "description"],
        [[r["format"], r["primary_key"], r["write_disposition"], r["description"]] for r in rows],
    )


def register(app: typer.Typer) -> None:
    app.command("info")(info)
    app.command("sql")(sql)
    app.command("formats")(formats)
