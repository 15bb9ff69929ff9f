"""``shopmind info``, ``shopmind sql`` and ``shopmind formats``."""

from __future__ import annotations

from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import state
from shopmind.ingest import FORMATS
from shopmind.store.info import workspace_info
from shopmind.store.query import run_read_only


def info(
    ctx: typer.Context,
    as_json: JsonOption = False,
) -> None:
    """Tables, row counts, date ranges and the ingestion log of the workspace."""
    result = workspace_info(state(ctx).workspace)

    def render() -> None:
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

    emit(result, as_json, render)


def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='SQL query, e.g. "SELECT count(*) FROM events".')],
    as_json: JsonOption = False,
    limit: Annotated[
        int | None, typer.Option(min=0, help="Print at most this many rows (default: all).")
    ] = None,
) -> None:
    """Read-only SQL on the workspace (DuckDB dialect): one query, no file or network access.

    COPY, EXPORT, INSTALL, ATTACH, SET, PRAGMA, writes and read_csv/glob-like are refused.
    """
    result = run_read_only(state(ctx).workspace, query, limit=limit)

    def render() -> None:
        print_table(None, result.columns, result.rows, raw=True)  # as DuckDB gives them
        if result.truncated:
            stdout.print(f"(first {limit} rows shown; --limit to change)", highlight=False)

    emit(result.records(), as_json, render)


def formats(
    as_json: JsonOption = False,
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
    emit(
        rows,
        as_json,
        lambda: print_table(
            "formats",
            ["format", "primary key", "disposition", "description"],
            [
                [r["format"], r["primary_key"], r["write_disposition"], r["description"]]
                for r in rows
            ],
        ),
    )


def register(app: typer.Typer) -> None:
    app.command("info")(info)
    app.command("sql")(sql)
    app.command("formats")(formats)
