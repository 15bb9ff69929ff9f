"""``shopmind abtest analyze``: analyse a randomised experiment from a file or a campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stderr, stdout
from shopmind.cli.state import state
from shopmind.errors import ShopmindError

app = typer.Typer(help="A/B test analysis.", no_args_is_help=True)


@app.command()
def analyze(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="CSV/Parquet, one row per user.")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Analyse a workspace campaign instead.")
    ] = None,
    arm: Annotated[
        str | None, typer.Option(help="--campaign: one treatment arm against control.")
    ] = None,
    variant_col: Annotated[str, typer.Option(help="Column with the arm.")] = "variant",
    control: Annotated[
        str | None,
        typer.Option(help="Control arm value (default: the campaign's, else 'control')."),
    ] = None,
    conversion_col: Annotated[
        str | None, typer.Option(help="0/1 conversion column.")
    ] = "converted",
    revenue_col: Annotated[str | None, typer.Option(help="Revenue per user column.")] = None,
    pre_col: Annotated[
        str | None,
        typer.Option(help="Pre-experiment covariate (CUPED); --campaign: a kept column too."),
    ] = None,
    expected_split: Annotated[
        str | None,
        typer.Option(help="Expected shares, e.g. control=0.5,email=0.5 (default equal)."),
    ] = None,
    pre_days: Annotated[int, typer.Option(help="--campaign: days of pre-period revenue.")] = 30,
    window_days: Annotated[
        int, typer.Option(help="--campaign without outcome columns: days after sending.")
    ] = 14,
    alpha: Annotated[
        float, typer.Option(min=1e-6, max=0.5, help="Significance level (0 < alpha <= 0.5).")
    ] = 0.05,
    as_json: JsonOption = False,
) -> None:
    """Conversion z-test, revenue Welch t + bootstrap, CUPED, SRM check, power."""
    from shopmind.cli._input import read_table
    from shopmind.marketing.abtest import analyze as run

    note = None
    if campaign:
        from shopmind.marketing.past_campaign import abtest_frame

        with state(ctx).workspace.connect(read_only=True) as con:
            frame, past = abtest_frame(
                con, campaign, pre_days=pre_days, arm=arm, control=control, window_days=window_days
            )
        variant_col, control = "variant", past.control
        # a campaign without revenue (no column, no priced purchases) has no revenue test
        import pandas as pd

        has_revenue = pd.to_numeric(frame["revenue"], errors="coerce").fillna(0).abs().sum() > 0
        revenue_col = revenue_col or ("revenue" if has_revenue else None)
        if pre_col is None and frame["pre_revenue"].nunique() > 1:
            pre_col = "pre_revenue"
        note = f"campaign {past.campaign_id}: outcomes from {past.outcome_source}"
    elif file is not None:
        frame = read_table(file)
    else:
        raise ShopmindError("Give a FILE or --campaign ID.")
    control = control or "control"
    expected = None
    if expected_split:
        try:
            expected = {k: float(v) for k, v in (p.split("=") for p in expected_split.split(","))}
        except ValueError:
            raise ShopmindError("--expected-split must look like control=0.5,email=0.5.") from None
    result = run(frame, variant_col, control, conversion_col, revenue_col, pre_col, expected, alpha)
    if note:
        result["note"] = note
    if revenue_col:  # revenue differences are money: the workspace's currency (a file: unknown)
        from shopmind.analytics.metrics import workspace_currency

        result["currency"] = workspace_currency(state(ctx).workspace) if campaign else None

    def render() -> None:
        srm = result["srm"]
        print_table(
            f"sample ratio (p = {srm['p_value']:.4g}{', MISMATCH' if srm['mismatch'] else ''})",
            ["arm", "users"],
            [[k, v] for k, v in srm["counts"].items()],
        )
        if srm.get("note"):
            stderr.print(f"note: {srm['note']}", highlight=False)
        for name, entry in result["variants"].items():
            rows: list[list[Any]] = []
            for metric in ("conversion", "revenue", "revenue_cuped"):
                if metric in entry:
                    m = entry[metric]
                    values = (m["difference"], m["ci_low"], m["ci_high"], m["p_value"])
                    label = (
                        f"{metric} ({result.get('currency') or 'currency unknown'})"
                        if metric.startswith("revenue")
                        else metric
                    )
                    rows.append([label, *(f"{v:.4g}" for v in values)])  # --json: full precision
            print_table(
                f"{name} vs {result['control']}",
                ["metric", "difference", "ci low", "ci high", "p"],
                rows,
            )
        if note:
            stdout.print(note, highlight=False)

    emit(result, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="abtest")
