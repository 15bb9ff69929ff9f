"""``shopmind analyze ...``: behaviour analytics and customer value on the workspace."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from shopmind.analytics.metrics import MONEY
from shopmind.cli._output import (
    JsonOption,
    emit,
    inline,
    print_matrix,
    print_table,
    stage_progress,
    stdout,
)
from shopmind.cli.state import state
from shopmind.features.tables import duckdb_tables

app = typer.Typer(
    help="Behaviour analytics: funnels, retention, paths, trends, RFM, segments.",
    no_args_is_help=True,
)
PerOpt = Annotated[
    str,
    typer.Option(
        "--per",
        help="Count user ids (user), linked persons (person, see `identity link`) or "
        "session ids (session; the default when the events carry no user id).",
    ),
]
SESSION_NOTE = "counted per session id: the events carry no user id (a session-only log)"
GAP_NOTE = (
    "counted per session: the log's session ids, else each user's events split after "
    "30 minutes without one"
)


def _per(tables: Any, per: str) -> Any:
    """The tables counted per user id, per person (docs/identity.md) or per session id."""
    from shopmind.errors import AnalyticsError
    from shopmind.features.identity import person_tables
    from shopmind.features.sessions import session_tables

    if per not in ("user", "person", "session"):
        raise AnalyticsError(f"Unknown --per {per}.", hint="Use user, person or session.")
    if per == "session":
        return session_tables(tables)
    return person_tables(tables) if per == "person" else tables


def _counted(tables: Any, per: str) -> tuple[Any, str, str | None]:
    """``_per`` with the default ``user`` turned into ``session`` on a session-only log; the
    unit counted, and the note that says how sessions were found (None per user)."""
    from shopmind.features.tables import session_only

    if per == "user" and session_only(tables):
        from shopmind.features.sessions import session_tables

        return session_tables(tables, ids_only=True), "session", SESSION_NOTE
    return _per(tables, per), per, GAP_NOTE if per == "session" else None


def _say_zone(result: dict[str, Any], ctx: typer.Context, zone: str) -> None:
    """Record the reporting time zone in ``result``, with a note when the data was loaded as
    another zone's time (printed by ``_print_zone``)."""
    from shopmind.analytics.metrics import timezone_note

    result["timezone"] = zone
    note = timezone_note(state(ctx).workspace, zone)
    if note:
        result["timezone_note"] = note


def _print_zone(result: dict[str, Any]) -> None:
    if result.get("timezone_note"):
        stdout.print(f"note: {result['timezone_note']}", highlight=False)


def _say_counted(result: dict[str, Any], per: str, note: str | None) -> None:
    result["counted_per"] = per
    if note:
        result["note"] = note


@app.command()
def funnel(
    ctx: typer.Context,
    steps: Annotated[
        str, typer.Option(help="Comma-separated event types, e.g. view,cart,purchase.")
    ],
    window: Annotated[
        str, typer.Option(help="Conversion window from step 1: 30m, 1h, 1d...")
    ] = "1d",
    order: Annotated[str, typer.Option(help="ordered | strict | unordered.")] = "ordered",
    by: Annotated[
        str | None, typer.Option(help="Breakdown: category, brand, source, country...")
    ] = None,
    per: PerOpt = "user",
    as_json: JsonOption = False,
) -> None:
    """Unique users per step, conversion and median time to convert (windowFunnel semantics)."""
    from shopmind.analytics.funnel import FunnelOrder, FunnelQuery, parse_window
    from shopmind.analytics.funnel import funnel as run_funnel
    from shopmind.errors import AnalyticsError

    if order not in ("ordered", "strict", "unordered"):
        raise AnalyticsError(f"Unknown --order {order}.", hint="Use ordered, strict or unordered.")
    query = FunnelQuery(
        tuple(s.strip() for s in steps.split(",") if s.strip()),
        parse_window(window),
        cast(FunnelOrder, order),
        by,
    )
    with duckdb_tables(state(ctx).workspace) as tables:
        counted, per, note = _counted(tables, per)
        result = run_funnel(counted, query)
        _say_counted(result, per, note)

    def render() -> None:
        if note:
            typer.echo(f"note: {note}")
        unit = "sessions" if per == "session" else "users"
        _steps_table(f"funnel ({order}, window {window})", result["steps"], unit)
        for value, rows in result.get("breakdown", {}).items():
            _steps_table(f"{by} = {value}", rows, unit)

    emit(result, as_json, render)


def _steps_table(title: str, steps: list[dict[str, Any]], unit: str = "users") -> None:
    print_table(
        title,
        ["step", unit, "from previous", "from first", "median s from previous"],
        [
            [
                s["name"],
                s["users"],
                _pct(s["conversion_from_previous"]),
                _pct(s["conversion_from_first"]),
                s["median_seconds_from_previous"],
            ]
            for s in steps
        ],
    )


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


@app.command()
def retention(
    ctx: typer.Context,
    start: Annotated[
        str, typer.Option(help="Event type that puts a user in a cohort.")
    ] = "purchase",
    return_: Annotated[
        str, typer.Option("--return", help="Event type that counts as returning.")
    ] = "purchase",
    period: Annotated[str, typer.Option(help="day | week | month.")] = "week",
    first_time: Annotated[
        bool,
        typer.Option("--first-time/--recurring", help="Cohort by first start event, or every one."),
    ] = True,
    periods: Annotated[
        int, typer.Option(min=1, max=520, help="Periods after the cohort to show.")
    ] = 8,
    per: PerOpt = "user",
    as_json: JsonOption = False,
) -> None:
    """Cohort x period retention matrix."""
    from shopmind.analytics.retention import retention as run
    from shopmind.errors import AnalyticsError

    if period not in ("day", "week", "month"):
        raise AnalyticsError(f"Unknown --period {period}.", hint="Use day, week or month.")
    with duckdb_tables(state(ctx).workspace) as tables:
        counted, per, note = _counted(tables, per)
        result = run(counted, start, return_, period, not first_time, periods)  # type: ignore[arg-type]
        _say_zone(result, ctx, tables.timezone)
        _say_counted(result, per, note)

    def render() -> None:
        columns = ["cohort", "size", *[str(i) for i in range(1, periods + 1)]]
        shown = print_matrix(
            f"retention ({result['mode']}, {period})",
            columns,
            [
                [
                    str(c["cohort"]),
                    f"{c['size']:,}",
                    *[
                        _pct(r) + ("*" if n == c["partial_offset"] and r is not None else "")
                        for n, r in enumerate(c["rates"][1:], start=1)
                    ],
                ]
                for c in result["cohorts"]
            ],
            fixed=2,
        )
        if result.get("note"):
            stdout.print(f"note: {result['note']}", highlight=False)
        if not result["cohorts"]:
            stdout.print(
                f"0 cohorts: no {per} has a {start} event in this data (--start / --return "
                "choose the event types)",
                highlight=False,
            )
        notes = [f"{len(result['cohorts'])} cohorts", "blank: not observable yet"]
        if result["last_period_partial"]:
            notes.append(f"* the {period} of {result['last_period']} is partial (data ends in it)")
        if shown < len(columns):
            notes.append(
                f"{period}s {shown - 1}..{periods} do not fit this terminal's width: widen it "
                "or use --json"
            )
        stdout.print("; ".join(notes), highlight=False)
        _print_zone(result)

    emit(result, as_json, render)


@app.command()
def paths(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="Event type paths start from.")] = "view",
    max_steps: Annotated[int, typer.Option(help="Next events to follow.")] = 5,
    top: Annotated[int, typer.Option(help="Paths to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Most frequent sequences of next events within sessions."""
    from shopmind.analytics.paths import paths as run

    with duckdb_tables(state(ctx).workspace) as tables:
        result = run(tables, from_, max_steps, top)
    emit(
        result,
        as_json,
        lambda: print_table(
            f"paths from {from_} ({result['starts']:,} starts)",
            ["path", "count", "share"],
            [[p["path"], p["count"], _pct(p["share"])] for p in result["paths"]],
        ),
    )


@app.command()
def trends(
    ctx: typer.Context,
    metric: Annotated[
        str,
        typer.Option(
            help="revenue (net) | gross_revenue | refunds | orders | order_lines | aov | "
            "active_users | customers | new_customers | returning_customers | conversion."
        ),
    ] = "revenue",
    interval: Annotated[str, typer.Option(help="day | week | month.")] = "day",
    refunds_by: Annotated[
        str, typer.Option(help="Date refunds by the refunded order (order) or by the refund.")
    ] = "order",
    as_json: JsonOption = False,
) -> None:
    """A business metric per period; partial periods flagged (definitions: docs/metrics.md)."""
    from shopmind.analytics.trends import trends as run

    with duckdb_tables(state(ctx).workspace) as tables:
        counted, per, session_note = _counted(tables, "user")  # a session-only log: sessions
        result = run(counted, metric, interval, refunds_by)
        if session_note:
            result["counted_per"] = per
            result["note"] = "; ".join(filter(None, [session_note, result.get("note")]))
        _say_zone(result, ctx, tables.timezone)

    def render() -> None:
        unit = (
            f" ({result['currency'] or 'currency unknown'})" if result["measure"] in MONEY else ""
        )
        if not any(p["value"] is not None for p in result["points"]):  # no table of blanks
            stdout.print(f"no {metric} values: {_why_blank(metric)}", highlight=False)
            _print_zone(result)
            return
        print_table(
            f"{metric} per {interval}{unit}",
            ["period", "value", ""],
            [
                [
                    p["period"],
                    human(p["value"], result["measure"]),
                    "partial" if p["partial"] else "",
                ]
                for p in result["points"]
            ],
        )
        best = result["best"]
        if result.get("note"):
            stdout.print(f"note: {result['note']}", highlight=False)
        if best:
            money_unit = result["currency"] or "currency unknown"
            best_unit = f" {money_unit}" if result["measure"] in MONEY else ""
            stdout.print(
                f"best complete {interval}: {best['period']} "
                f"({human(best['value'], result['measure'])}{best_unit})",
                highlight=False,
            )
        _print_zone(result)

    emit(result, as_json, render)


def _why_blank(metric: str) -> str:
    """Why a trend has no value in any period (docs/metrics.md)."""
    if metric == "conversion":
        return "the data has no browsing events (view, cart, ...), so conversion is undefined"
    if metric in ("revenue", "net_revenue", "gross_revenue", "aov", "refunds"):
        return "no purchase carries a price, so money is unknown"
    return "no event in any period"


@app.command()
def summary(ctx: typer.Context, per: PerOpt = "user", as_json: JsonOption = False) -> None:
    """Headline business figures: orders, revenue net of refunds, AOV, customers."""
    from shopmind.analytics.metrics import summary as run

    with duckdb_tables(state(ctx).workspace) as tables:
        counted, per, note = _counted(tables, per)
        result = run(counted)
        _say_zone(result, ctx, tables.timezone)
        _say_counted(result, per, note)

    def render() -> None:
        cur = result["currency"] or "currency unknown"

        def shown(name: str) -> str:
            if name in MONEY and not result["orders"]:
                return "n/a (no purchases in the data)"
            if result[name] is None:
                if name in MONEY and result.get("prices"):
                    return "n/a (no prices in the data)"
                return "n/a"
            return human(result[name], name) + (f" {cur}" if name in MONEY else "")

        rows = [
            [name, shown(name)]
            for name in (
                "orders",
                "order_lines",
                "customers",
                "gross_revenue",
                "refunds",
                "net_revenue",
                "aov",
                "active_users",
                "conversion",
            )
        ]
        print_table(
            f"summary {result['first'][:10]} .. {result['last'][:10]} ({result['timezone']})",
            ["metric", "value"],
            rows,
        )
        if result.get("note"):
            stdout.print(f"note: {result['note']}", highlight=False)
        stdout.print("definitions: docs/metrics.md", highlight=False)
        _print_zone(result)

    emit(result, as_json, render)


def human(value: float | int | None, metric: str) -> str:
    """A figure for people: money to cents, counts with separators, ratios as percent."""
    from shopmind.analytics.metrics import MONEY

    if value is None:
        return ""
    if metric in MONEY:
        return f"{value:,.2f}"
    if metric == "conversion":
        return _pct(value)
    return f"{value:,.0f}"


def _spend(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


@app.command()
def rfm(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(help="Reference time (ISO-8601); default: the day after the last event."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the customers (user_id, recency, frequency, monetary, scores, "
            "segment) as CSV for activation; pseudonyms stay pseudonyms "
            "(original ids: `shopmind audience export --reveal`)."
        ),
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="With --out: only this segment, e.g. 'At risk'.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recency, frequency, monetary scores and named segments."""
    from shopmind.analytics.metrics import currency
    from shopmind.analytics.rfm import export_members
    from shopmind.analytics.rfm import rfm as run

    reference = datetime.fromisoformat(as_of) if as_of else None
    with duckdb_tables(state(ctx).workspace) as tables:
        result = run(tables, reference)
        result["currency"] = currency(tables)
        if out is not None:
            result["exported"] = {
                "path": str(out),
                "segment": segment,
                "rows": export_members(tables, out, segment=segment, as_of=reference),
            }

    def render() -> None:
        print_table(
            f"RFM segments ({result['customers']:,} customers)",
            [
                "segment",
                "customers",
                "share",
                "recency d",
                "orders",
                f"spend ({result['currency'] or 'currency unknown'})",
            ],
            [
                [
                    s["name"],
                    f"{s['customers']:,}",
                    _pct(s["share"]),
                    f"{s['mean_recency_days']:,.0f}",
                    f"{s['mean_frequency']:,.1f}",
                    _spend(s["mean_monetary"]),
                ]
                for s in result["segments"]
            ],
        )
        if not result["has_prices"]:
            stdout.print(
                "  note: no purchase has a price: segments use recency and orders only (FM = F).",
                highlight=False,
            )
        if result.get("note"):
            stdout.print(f"  note: {result['note']}", highlight=False)
        if out is not None:
            stdout.print(
                f"wrote {result['exported']['rows']:,} customers to {out}", highlight=False
            )

    emit(result, as_json, render)


@app.command()
def sessions(
    ctx: typer.Context,
    gap: Annotated[float, typer.Option(help="Inactivity gap in minutes.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Session counts and lengths (sessions split by an inactivity gap)."""
    from shopmind.analytics.sessions import session_summary

    with duckdb_tables(state(ctx).workspace) as tables:
        counted, per, note = _counted(tables, "user")
        result = session_summary(counted.events(), gap)
        _say_counted(result, per, note)
        if tables.dates_only():
            result["note"] = (
                "the event times are dates without a time of day: each user's day is one "
                "session of 0 s, so sessions and their lengths are not measured here"
            )
    emit(result, as_json, title="sessions")  # text: rounded, with thousands separators


@app.command()
def segments(
    ctx: typer.Context,
    k: Annotated[
        int | None, typer.Option(help="Number of segments (default: best silhouette).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Behavioural segments (k-means), each described in words."""
    from shopmind.analytics.segments import segment_users

    with stage_progress("segments", enabled=not as_json) as progress:
        progress("user features and k-means (k = 2..8 on a sample)")
        with duckdb_tables(state(ctx).workspace) as tables:
            result = segment_users(tables, k, seed)
    result.pop("assignments")

    def render() -> None:
        stdout.print(
            f"k = {result['k']} ({result['criterion']}; silhouette by k: "
            f"{inline(result['silhouette'], ' = ')})",
            highlight=False,
        )
        print_table(
            "segments",
            ["segment", "users", "share", "what sets it apart"],
            [
                [s["segment"], s["users"], _pct(s["share"]), s["description"]]
                for s in result["segments"]
            ],
        )

    emit(result, as_json, render)


@app.command()
def profiles(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Compute user profiles (tags) for every user and store them in the user_profiles table."""
    from shopmind.marketing.profiles import compute_profiles

    with stage_progress("profiles", enabled=True) as progress:
        result = compute_profiles(state(ctx).workspace, progress)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"user_profiles: {result['users']:,} users; lifecycle: {inline(result['lifecycle'])}",
            highlight=False,
        ),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="analyze")
