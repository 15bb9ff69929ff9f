"""``shopmind campaign plan``: whom to contact under a budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stage_progress, stderr, stdout
from shopmind.cli.state import state
from shopmind.features.tables import duckdb_tables
from shopmind.marketing.plans import save_plan

app = typer.Typer(help="Campaign planning with uplift.", no_args_is_help=True)


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    budget: Annotated[float, typer.Option(help="Total budget (currency).")],
    cost: Annotated[
        float | None,
        typer.Option(help="Cost per contact (default: the mean cost the campaign recorded)."),
    ] = None,
    value: Annotated[float | None, typer.Option(help="Value of one conversion.")] = None,
    margin: Annotated[
        float | None,
        typer.Option(help="Without --value: value = margin x mean revenue per conversion."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Audience CSV: user_id,uplift,expected_profit,segment.")
    ] = Path("audience.csv"),
    campaign: Annotated[
        str | None, typer.Option(help="Past campaign to learn from (default: the latest).")
    ] = None,
    arm: Annotated[
        str | None, typer.Option(help="Treatment arm to learn from (campaigns with several).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Maximise expected incremental profit (uplift x value - cost) within the budget.

    Learns from a past randomised campaign (simulated, or loaded with `ingest --format
    campaign`); the plan is saved for `shopmind report`."""
    from shopmind.marketing.campaign import CampaignBudget
    from shopmind.marketing.campaign_view import plan_campaign

    workspace = state(ctx).workspace
    with stage_progress("campaign plan", enabled=not as_json) as progress:
        progress("uplift model and scoring")
        with duckdb_tables(workspace) as tables:
            audience, summary = plan_campaign(
                tables, CampaignBudget(budget, cost, value, margin), campaign, seed, arm=arm
            )
    audience.to_csv(out, index=False)
    summary["out"] = str(out)
    save_plan(workspace, summary)  # the report shows the plan the user made

    def render() -> None:
        conv, profit = (
            summary["expected_incremental_conversions"],
            summary["expected_incremental_profit"],
        )
        code = summary.get("currency") or "(currency unknown)"
        stdout.print(
            f"contact {summary['audience']:,} of {summary['population']:,} users for "
            f"{summary['spend']:,.2f} {code}: about {conv['estimate']:,.0f} extra conversions "
            f"(95% {conv['low']:,.0f} .. {conv['high']:,.0f}), profit {profit['estimate']:,.0f} "
            f"{code} ({profit['low']:,.0f} .. {profit['high']:,.0f}); wrote {out}",
            highlight=False,
        )
        check = summary.get("held_out_check") or {}
        if check.get("qini_coefficient") is not None and check.get("share") is not None:
            stdout.print(
                f"held-out check ({check['rows']:,} rows): Qini {check['qini_coefficient']:.3f}, "
                f"uplift of the top {100 * check['share']:.0f}% {100 * check['uplift']:.2f} "
                f"points (se {100 * check['se']:.2f})",
                highlight=False,
            )
        print_table("segment mix", ["segment", "users"], list(summary["segment_mix"].items()))
        for warning in summary.get("warnings", []):
            stderr.print(f"warning: {warning}", highlight=False)

    emit(summary, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="campaign")
