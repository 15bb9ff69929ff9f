"""``shopmind report``: write the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import print_json, stage_progress, stdout
from shopmind.cli.state import state


def report(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="HTML file (default WORKSPACE/reports/report.html).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """One self-contained HTML page: funnel, retention, trends, RFM, CLV, segments, uplift,
    recommendations, risk and the assistant (docs/report.md)."""
    from shopmind.reports.html import write_report

    with stage_progress("report", enabled=not as_json) as progress:
        progress("analyses and charts")
        path = write_report(state(ctx).workspace, out)
    if as_json:
        print_json({"out": str(path), "bytes": path.stat().st_size})
        return
    stdout.print(f"wrote {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
