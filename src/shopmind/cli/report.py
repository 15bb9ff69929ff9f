"""``shopmind report``: write the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, stage_progress, stdout
from shopmind.cli.state import state


def report(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="HTML file (default WORKSPACE/reports/report.html).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One self-contained HTML page: funnel, retention, trends, RFM, CLV, segments, uplift,
    recommendations, risk and the assistant (docs/report.md)."""
    from shopmind.reports.html import write_report

    with stage_progress("report", enabled=not as_json) as progress:
        progress("analyses and charts")
        path = write_report(state(ctx).workspace, out)
    emit(
        {"out": str(path), "bytes": path.stat().st_size},
        as_json,
        lambda: stdout.print(f"wrote {path}", highlight=False),
    )


def register(app: typer.Typer) -> None:
    app.command("report")(report)
