"""``shopmind abtest analyze``: analyse a randomised experiment from a file or a campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from shopmind.cli._output import print_json, print_table
from shopmind.cli.state import state
from shopmind.errors import ShopmindError

app = typer.Typer(help="A/B test analysis.", no_args_is_help=True)


def campaign_frame(ctx: typer.Context, campaign: str, pre_days: int) -> pd.DataFrame:
    """A campaign's assignments with each user's revenue in the ``pre_days`` before sending."""
    with state(ctx).workspace.connect(read_only=True) as con:
        frame = con.execute(
            f"""
            SELECT a.user_id, a.arm AS variant, a.converted::INT AS converted,
                   coalesce(a.revenue, 0) AS revenue,
                   coalesce(sum(CASE WHEN e.event_type = 'purchase'
                                     THEN coalesce(e.quantity, 1) * e.price END), 0) AS pre_revenue
            FROM campaign_assignments a
            LEFT JOIN events e ON e.user_id = a.user_id AND e.ts < a.sent_ts
                 AND e.ts >= a.sent_ts - INTERVAL {int(pre_days)} DAY
            WHERE a.campaign_id = ?
            GROUP BY ALL
            """,
            [campaign],
        ).df()
    if frame.empty:
        raise ShopmindError(
            f"No assignments for campaign '{campaign}'.",
            hint='See `shopmind sql "SELECT DISTINCT campaign_id FROM campaign_assignments"`.',
        )
    return frame


@app.command()
def analyze(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="CSV/Parquet, one row per user.")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Analyse a workspace campaign instead.")
    ] = None,
    variant_col: Annotated[str, typer.Option(help="Column with the arm.")] = "variant",
    control: Annotated[str, typer.Option(help="Control arm value.")] = "control",
    conversion_col: Annotated[
        str | None, typer.Option(help="0/1 conversion column.")
    ] = "converted",
    revenue_col: Annotated[str | None, typer.Option(help="Revenue per user column.")] = None,
    pre_col: Annotated[str | None, typer.Option(help="Pre-experiment covariate (CUPED).")] = None,
    expected_split: Annotated[
        str | None,
        typer.Option(help="Expected shares, e.g. control=0.5,email=0.5 (default equal)."),
    ] = None,
    pre_days: Annotated[int, typer.Option(help="--campaign: days of pre-period revenue.")] = 30,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Conversion z-test, revenue Welch t + bootstrap, CUPED, SRM check, power."""
    from shopmind.cli._input import read_table
    from shopmind.marketing.abtest import analyze as run

    if campaign:
        frame = campaign_frame(ctx, campaign, pre_days)
        revenue_col, pre_col = revenue_col or "revenue", pre_col or "pre_revenue"
    elif file is not None:
        frame = read_table(file)
    else:
        raise ShopmindError("Give a FILE or --campaign ID.")
    expected = None
    if expected_split:
        try:
            expected = {k: float(v) for k, v in (p.split("=") for p in expected_split.split(","))}
        except ValueError:
            raise ShopmindError("--expected-split must look like control=0.5,email=0.5.") from None
    result = run(frame, variant_col, control, conversion_col, revenue_col, pre_col, expected, alpha)
    if as_json:
        print_json(result)
        return
    srm = result["srm"]
    print_table(
        f"sample ratio (p = {srm['p_value']:.4g}{', MISMATCH' if srm['mismatch'] else ''})",
        ["arm", "users"],
        [[k, v] for k, v in srm["counts"].items()],
    )
    for name, entry in result["variants"].items():
        rows: list[list[Any]] = []
        for metric in ("conversion", "revenue", "revenue_cuped"):
            if metric in entry:
                m = entry[metric]
                rows.append([metric, m["difference"], m["ci_low"], m["ci_high"], m["p_value"]])
        print_table(
            f"{name} vs {result['control']}",
            ["metric", "difference", "ci low", "ci high", "p"],
            rows,
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="abtest")
