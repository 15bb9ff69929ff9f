"""``shopmind audience build|list|export``: audiences for activation (issue 15).

``export --reveal`` adds original ids and contact fields from the encrypted vault; the
CLI acts as the admin principal and every reveal is audited with its count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.privacy import vault_keys
from shopmind.cli.state import state
from shopmind.marketing.audience import (
    AudienceSpec,
    build_audience,
    export_audience,
    latest_plan,
    list_audiences,
)

app = typer.Typer(help="Audiences for activation (pseudonyms; --reveal for real ids).")


@app.command("build")
def build_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Audience name (letters, digits, - _ .).")],
    segment: Annotated[
        str | None,
        typer.Option(help="RFM segment name, behavioural segment number or lifecycle stage."),
    ] = None,
    scores: Annotated[
        Path | None,
        typer.Option(help="CSV with user_id and a score (propensity score / campaign plan)."),
    ] = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Use the latest `campaign plan` audience as scores.")
    ] = False,
    min_score: Annotated[float | None, typer.Option(help="Keep scores at or above this.")] = None,
    top: Annotated[int | None, typer.Option(min=1, help="Keep the N best scores.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a named audience of pseudonyms from a segment, a scores CSV (propensity score,
    campaign plan) or, with --plan, the latest campaign plan."""
    ws = state(ctx).workspace
    if plan:
        scores = latest_plan(ws)
    spec = AudienceSpec(name, segment=segment, scores=scores, min_score=min_score, top=top)
    summary = build_audience(ws, spec)
    emit(
        summary,
        as_json,
        lambda: stdout.print(
            f"audience {summary['audience']}: {summary['members']:,} people ({summary['source']})",
            highlight=False,
        ),
    )


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Audiences with their size and source."""
    ws = state(ctx).workspace
    with ws.connect(read_only=True) as con:
        rows = list_audiences(con)
    emit(
        rows,
        as_json,
        lambda: print_table(
            "audiences",
            ["audience", "members", "source", "created"],
            [[r["audience"], r["members"], r["source"], r["created_at"]] for r in rows],
        ),
    )


@app.command("export")
def export_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Audience name.")],
    out: Annotated[Path, typer.Option(help="CSV to write.")],
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="Add original_id, email, phone from the vault (audited)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write an audience as CSV: rank,user_id,score (+ original_id,email,phone with --reveal)."""
    st = state(ctx)
    keys = vault_keys(st) if reveal else []
    summary = export_audience(st.workspace, name, out, reveal=reveal, keys=keys)

    def render() -> None:
        extra = f", {summary['revealed']:,} re-identified" if reveal else ""
        stdout.print(f"wrote {summary['members']:,} people to {out}{extra}", highlight=False)

    emit(summary, as_json, render)


def register(root: typer.Typer) -> None:
    """Add this module's commands to ``root``."""
    root.add_typer(app, name="audience")
