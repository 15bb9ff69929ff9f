"""``shopmind dp``: differentially private releases (OpenDP) and the workspace's budget."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import state

app = typer.Typer(
    help="Differentially private aggregates (OpenDP Laplace noise) and the privacy budget.",
    no_args_is_help=True,
)
release_app = typer.Typer(
    help="Release noisy aggregates; each release spends --epsilon from the budget.",
    no_args_is_help=True,
)
EpsilonOpt = Annotated[
    float, typer.Option(help="Privacy loss of this release (smaller: more private, noisier).")
]
OutOpt = Annotated[Path | None, typer.Option(help="Also write the noisy values to this CSV.")]


def _principal() -> str:
    from shopmind.store.audit import cli_principal

    return cli_principal()


def _show(result: dict[str, Any], out: Path | None, as_json: bool) -> None:
    from shopmind.analytics.private import release_table

    columns, rows = release_table(result)
    if out is not None:
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)

    def render() -> None:
        print_table(
            f"{result['kind']} (epsilon {result['epsilon']:g}, release {result['release_id']})",
            columns,
            rows,
        )
        for name, noise in result["noise"].items():
            stdout.print(
                f"{name}: {noise['mechanism']} noise, scale {noise['scale']:g} "
                f"(L1 sensitivity {noise['sensitivity']:g} per user, epsilon {noise['epsilon']:g})",
                highlight=False,
            )
        if result.get("note"):
            stdout.print(f"note: {result['note']}", highlight=False)

    emit({**result, "out": str(out) if out else None}, as_json, render)


@release_app.command()
def segments(
    ctx: typer.Context,
    epsilon: EpsilonOpt,
    by: Annotated[str, typer.Option(help="rfm (RFM segments) | country (needs --keys).")] = "rfm",
    keys: Annotated[
        str | None, typer.Option(help="Comma-separated public segment keys, e.g. GB,FR,DE.")
    ] = None,
    lower: Annotated[float, typer.Option(help="Net revenue per customer clamped from.")] = 0.0,
    upper: Annotated[float, typer.Option(help="Net revenue per customer clamped to.")] = 5000.0,
    out: OutOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Noisy customers and net revenue per segment (epsilon split evenly between them)."""
    from shopmind.analytics.private import release_segments

    key_list = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
    result = release_segments(
        state(ctx).workspace,
        epsilon,
        principal=_principal(),
        by=by,
        keys=key_list,
        bounds=(lower, upper),
    )
    _show(result, out, as_json)


@release_app.command()
def funnel(
    ctx: typer.Context,
    epsilon: EpsilonOpt,
    steps: Annotated[str, typer.Option(help="Comma-separated event types.")] = "view,cart,purchase",
    window: Annotated[str, typer.Option(help="Conversion window: 30m, 1h, 1d...")] = "1d",
    order: Annotated[str, typer.Option(help="ordered | strict | unordered.")] = "ordered",
    out: OutOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Noisy users per funnel step (each user counted once per step)."""
    from shopmind.analytics.funnel import FunnelOrder, FunnelQuery, parse_window
    from shopmind.analytics.private import release_funnel
    from shopmind.errors import AnalyticsError

    if order not in ("ordered", "strict", "unordered"):
        raise AnalyticsError(f"Unknown --order {order}.", hint="Use ordered, strict or unordered.")
    query = FunnelQuery(
        tuple(s.strip() for s in steps.split(",") if s.strip()),
        parse_window(window),
        cast(FunnelOrder, order),
    )
    result = release_funnel(state(ctx).workspace, query, epsilon, principal=_principal())
    _show(result, out, as_json)


@release_app.command()
def retention(
    ctx: typer.Context,
    epsilon: EpsilonOpt,
    start: Annotated[str, typer.Option(help="Event type that puts a user in a cohort.")] = (
        "purchase"
    ),
    return_: Annotated[
        str, typer.Option("--return", help="Event type that counts as returning.")
    ] = "purchase",
    period: Annotated[str, typer.Option(help="day | week | month.")] = "month",
    periods: Annotated[int, typer.Option(help="Periods after the cohort.")] = 6,
    out: OutOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Noisy first-time retention cells (cohort sizes and returning users)."""
    from shopmind.analytics.private import release_retention
    from shopmind.errors import AnalyticsError

    if period not in ("day", "week", "month"):
        raise AnalyticsError(f"Unknown --period {period}.", hint="Use day, week or month.")
    result = release_retention(
        state(ctx).workspace,
        epsilon,
        principal=_principal(),
        start=start,
        return_=return_,
        period=period,  # type: ignore[arg-type]
        periods=periods,
    )
    _show(result, out, as_json)


@app.command()
def budget(
    ctx: typer.Context,
    set_: Annotated[
        float | None, typer.Option("--set", help="New total epsilon for this workspace.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Ledger entries to show (newest first).")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Privacy budget: total, spent and remaining epsilon, and the ledger of releases."""
    from shopmind.store.privacy_budget import set_budget, status

    workspace = state(ctx).workspace
    if set_ is not None:
        set_budget(workspace, set_, principal=_principal())
    result = status(workspace, limit=limit)

    def render() -> None:
        stdout.print(
            f"epsilon: {result['epsilon_spent']:g} spent of {result['epsilon_total']:g}, "
            f"{result['epsilon_remaining']:g} left ({result['releases']} releases)",
            highlight=False,
        )
        print_table(
            "ledger",
            ["release", "time (UTC)", "kind", "epsilon", "noise scale", "principal"],
            [
                [
                    e["release_id"],
                    e["ts"].strftime("%Y-%m-%d %H:%M"),
                    e["kind"],
                    f"{e['epsilon']:g}",
                    ", ".join(f"{k} {v:g}" for k, v in e["noise_scale"].items()),
                    e["principal"],
                ]
                for e in result["ledger"]
            ],
        )

    emit(result, as_json, render)


def register(root: typer.Typer) -> None:
    """Add this module's commands to ``root``."""
    app.add_typer(release_app, name="release")
    root.add_typer(app, name="dp")
