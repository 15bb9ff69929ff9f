"""Overview (``/``): headline KPIs with currency and period-over-period change, the trend of
net revenue and orders at a chosen granularity, and the data's freshness.

The KPIs are :func:`shopmind.analytics.metrics.summary` over ``[start, end + 1 day)`` (days of the
reporting time zone, as the periods),
the same function as ``shopmind analyze summary --json``; the previous period is the same
number of days just before ``start``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from shopmind.analytics.metrics import INTERVALS, Interval, metrics_by_period, summary
from shopmind.features.tables import reporting_timezone
from shopmind.serving.web import charts, forms
from shopmind.serving.web.framework import Console, Ctx, NavItem, page, render

router = APIRouter()
NAV = [NavItem("/", "nav.overview", "analytics.read", order=10)]
KPIS = ("net_revenue", "orders", "customers", "conversion", "aov")
#: Days shown when no range is asked: the last 30 days of data.
DEFAULT_DAYS = 30


def _midnight(day: date) -> datetime:
    """Midnight starting ``day`` in the reporting time zone (the periods' own zone)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(reporting_timezone()))


def _day(ts: datetime) -> date:
    """The reporting zone's calendar day of a stored (UTC) timestamp."""
    return ts.astimezone(ZoneInfo(reporting_timezone())).date()


def change(now: float | None, before: float | None) -> float | None:
    """Relative change from ``before`` to ``now`` (None without a non-zero ``before``)."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before)


def freshness(ctx: Ctx) -> dict[str, Any]:
    row = (
        ctx.cursor()
        .execute(
            "SELECT (SELECT min(ts) FROM events), (SELECT max(ts) FROM events), "
            "(SELECT count(*) FROM events), (SELECT max(finished_at) FROM ingestions), "
            "(SELECT count(*) FROM ingestions)"
        )
        .fetchone()
    )
    assert row is not None
    first, last, events, ingested, loads = row
    return {"first": first, "last": last, "events": events, "ingested": ingested, "loads": loads}


def figures(
    console: Console, start: date, end: date, interval: Interval
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``summary`` of ``[start, end]`` and of as many days before, and the period metrics."""
    days = (end - start).days + 1
    now = console.analysis(summary, _midnight(start), _midnight(end + timedelta(days=1)))
    before = console.analysis(summary, _midnight(start - timedelta(days=days)), _midnight(start))
    return now, before, console.analysis(metrics_by_period, interval)


def default_range(first_day: date, last_day: date) -> date:
    return max(first_day, last_day - timedelta(days=DEFAULT_DAYS - 1))


def warm(console: Console) -> None:
    """The default overview, computed once at start-up (see ``Console.warm``)."""
    if not console.has_events():
        return
    row = console.service.cursor().execute("SELECT min(ts), max(ts) FROM events").fetchone()
    assert row is not None
    first_day, last_day = _day(row[0]), _day(row[1])
    figures(console, default_range(first_day, last_day), last_day, "day")


def home(ctx: Ctx) -> Response:
    """Roles without the overview land on their first page (never a loop: it is allowed)."""
    for item in ctx.console.nav:
        if item.path != "/" and ctx.allowed(item.permission):
            return RedirectResponse(item.path, 303)
    return render(ctx, "home.html")


@router.get("/")
def overview(ctx: Annotated[Ctx, page("console")]) -> Response:
    if not ctx.console.has_events():
        return render(ctx, "empty.html", no_keys=False)
    if not ctx.allowed("analytics.read"):
        return home(ctx)
    fresh = freshness(ctx)
    last_day, first_day = _day(fresh["last"]), _day(fresh["first"])
    errors: list[str] = []
    start, end = forms.date_range(ctx, default_range(first_day, last_day), last_day, errors)
    interval = cast(Interval, forms.choice(ctx, "interval", INTERVALS, "day", errors))
    now, before, periods = figures(ctx.console, start, end, interval)
    days = (end - start).days + 1
    kpis = [
        {"name": k, "value": now[k], "previous": before[k], "change": change(now[k], before[k])}
        for k in KPIS
    ]
    conversion = kpis[KPIS.index("conversion")]  # a ratio: its change in percentage points
    if conversion["value"] is not None and conversion["previous"] is not None:
        conversion["change"] = conversion["value"] - conversion["previous"]
    points = [p for p in periods["points"] if start.isoformat() <= p["period"] <= end.isoformat()]
    cur = now["currency"]
    rows = [
        {
            "period": p["period"],
            "partial": p["partial"],
            "net_revenue": p["net_revenue"],
            "orders": p["orders"],
            "customers": p["customers"],
            "currency": cur,
        }
        for p in points
    ]
    x = [p["period"] for p in points]
    revenue = charts.bar(
        "net_revenue",
        ctx.t("overview.chart_revenue", interval=ctx.t("interval." + interval)),
        x,
        {ctx.t("kpi.net_revenue"): [p["net_revenue"] for p in points]},
        rows,
        y_title=cur or "",
    )
    volume = charts.line(
        "orders",
        ctx.t("overview.chart_orders", interval=ctx.t("interval." + interval)),
        x,
        {
            ctx.t("kpi.orders"): [p["orders"] for p in points],
            ctx.t("kpi.customers"): [p["customers"] for p in points],
        },
        rows,
    )
    return render(
        ctx,
        "overview.html",
        charts=[revenue, volume],
        errors=errors,
        kpis=kpis,
        summary=now,
        previous_start=(start - timedelta(days=days)).isoformat(),
        previous_end=(start - timedelta(days=1)).isoformat(),
        start=start.isoformat(),
        end=end.isoformat(),
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        interval=interval,
        interval_options=ctx.options(INTERVALS, "interval."),
        fresh=fresh,
        partial=[p["period"] for p in points if p["partial"]],
    )
