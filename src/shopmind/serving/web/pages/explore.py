"""Explore: funnel builder, retention heatmap, paths as a Sankey diagram, trends, and RFM with
behavioural segments. Each view is a GET form over the same library function as
``shopmind analyze <name> --json`` (and ``/v1/analytics``); bad input is shown inline."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, cast

from fastapi import APIRouter
from starlette.responses import Response

from shopmind.analytics.funnel import FunnelOrder, FunnelQuery, funnel, parse_window
from shopmind.analytics.metrics import INTERVALS, MONEY, currency
from shopmind.analytics.paths import paths
from shopmind.analytics.retention import Period, retention
from shopmind.analytics.rfm import rfm
from shopmind.analytics.segments import segment_users
from shopmind.analytics.trends import METRICS, trends
from shopmind.errors import ShopmindError
from shopmind.features.tables import Tables
from shopmind.serving.web import charts, forms
from shopmind.serving.web.charts import Chart
from shopmind.serving.web.framework import Console, Ctx, NavItem, page, render

router = APIRouter()
NAV = [NavItem("/explore", "nav.explore", "analytics.read", order=20)]
VIEWS = ("funnel", "retention", "paths", "trends", "customers")
ORDERS = ("ordered", "strict", "unordered")
BREAKDOWNS = ("", "category", "brand", "country", "gender", "source")
PERMISSION = "analytics.read"
#: Breakdown values drawn (largest first); the CSV has all of them.
MAX_SERIES = 8


DEFAULT_FUNNEL = FunnelQuery(("view", "cart", "purchase"), 86_400, "ordered", None)


def checked_retention(
    tables: Tables, start: str, back: str, period: str, recurring: bool, periods: int
) -> dict[str, Any]:
    """``retention`` after checking both event types exist (a clear message otherwise)."""
    tables.require_event_types([start, back])
    return retention(tables, start, back, cast(Period, period), recurring, periods)


def checked_paths(tables: Tables, start: str, steps: int, top: int) -> dict[str, Any]:
    tables.require_event_types([start])
    return paths(tables, start, steps, top)


def rfm_with_currency(tables: Tables) -> dict[str, Any]:
    """``shopmind analyze rfm --json``: the segments and the currency of ``monetary``."""
    return {**rfm(tables), "currency": currency(tables)}


def warm(console: Console) -> None:
    """The default views, computed once at start-up (see ``Console.warm``)."""
    console.analysis(funnel, DEFAULT_FUNNEL)
    console.analysis(checked_retention, "purchase", "purchase", "week", False, 8)
    console.analysis(checked_paths, "view", 4, 20)
    console.analysis(trends, "revenue", "day")
    console.analysis(rfm_with_currency)


def _show(ctx: Ctx, view: str, errors: list[str], **values: Any) -> Response:
    return render(
        ctx,
        f"explore_{view}.html",
        errors=errors,
        view=view,
        views=[(v, "/explore" if v == "funnel" else f"/explore/{v}") for v in VIEWS],
        **values,
    )


def _event_types(ctx: Ctx) -> list[str]:
    rows = ctx.cursor().execute("SELECT DISTINCT event_type FROM events ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


@router.get("/explore")
def funnel_page(ctx: Annotated[Ctx, page(PERMISSION)]) -> Response:
    errors: list[str] = []
    steps = forms.steps(ctx, "steps", "view,cart,purchase", errors)
    window = ctx.query("window", "1d") or "1d"
    order = forms.choice(ctx, "order", ORDERS, "ordered", errors)
    by = forms.choice(ctx, "by", BREAKDOWNS, "", errors)
    result, shown = None, []
    if steps:
        try:
            query = FunnelQuery(steps, parse_window(window), cast(FunnelOrder, order), by or None)
            result = ctx.analysis(funnel, query)
        except ShopmindError as exc:
            errors.append(str(exc))
    if result is not None:
        shown = [funnel_chart(ctx, result)]
        if result.get("breakdown"):
            shown.append(breakdown_chart(ctx, result, by))
    return _show(
        ctx,
        "funnel",
        errors,
        charts=shown,
        result=result,
        steps=ctx.query("steps", "view,cart,purchase"),
        window=window,
        order=order,
        by=by,
        order_options=ctx.options(ORDERS, "funnel.order."),
        by_options=ctx.options(BREAKDOWNS, "funnel.by."),
        event_types=_event_types(ctx),
    )


def funnel_chart(ctx: Ctx, result: dict[str, Any]) -> Chart:
    steps = result["steps"]
    figure = {
        "data": [
            {
                "type": "funnel",
                "y": [s["name"] for s in steps],
                "x": [s["users"] for s in steps],
                "textinfo": "value+percent initial",
            }
        ],
        "layout": {"yaxis": {"title": {"text": ctx.t("funnel.step")}}},
    }
    return Chart("funnel", ctx.t("funnel.chart"), figure, steps)


def breakdown_chart(ctx: Ctx, result: dict[str, Any], by: str) -> Chart:
    groups = sorted(result["breakdown"].items(), key=lambda kv: -kv[1][0]["users"])
    rows = [{by: value, **s} for value, steps in groups for s in steps]
    x = [s["name"] for s in result["steps"]]
    series = {str(v): [s["users"] for s in steps] for v, steps in groups[:MAX_SERIES]}
    return charts.bar(
        "funnel_breakdown",
        ctx.t("funnel.chart_by", by=ctx.t(f"funnel.by.{by}")),
        x,
        series,
        rows,
        y_title=ctx.t("funnel.users"),
    )


@router.get("/explore/retention")
def retention_page(ctx: Annotated[Ctx, page(PERMISSION)]) -> Response:
    errors: list[str] = []
    start = ctx.query("start", "purchase") or "purchase"
    back = ctx.query("return", "purchase") or "purchase"
    period = forms.choice(ctx, "period", INTERVALS, "week", errors)
    mode = forms.choice(ctx, "mode", ("first_time", "recurring"), "first_time", errors)
    periods = forms.integer(ctx, "periods", 8, 1, 52, errors)
    result, shown = None, []
    try:
        result = ctx.analysis(checked_retention, start, back, period, mode == "recurring", periods)
    except ShopmindError as exc:
        errors.append(str(exc))
    if result is not None and result["cohorts"]:
        shown = [heatmap(ctx, result, periods)]
    return _show(
        ctx,
        "retention",
        errors,
        charts=shown,
        result=result,
        start=start,
        back=back,
        period=period,
        mode=mode,
        periods=periods,
        period_options=ctx.options(INTERVALS, "interval."),
        mode_options=ctx.options(("first_time", "recurring"), "retention.mode."),
        event_types=_event_types(ctx),
    )


def heatmap(ctx: Ctx, result: dict[str, Any], periods: int) -> Chart:
    """Cohorts x offsets; cells not observable yet are null, so Plotly leaves them blank."""
    cohorts = result["cohorts"]
    z = [c["rates"][: periods + 1] for c in cohorts]
    text = [["" if r is None else f"{100 * r:.0f}%" for r in row] for row in z]
    rows = [
        {"cohort": c["cohort"], "size": c["size"], "offset": i, "retained": n, "rate": r}
        for c in cohorts
        for i, (n, r) in enumerate(zip(c["retained"], c["rates"], strict=True))
    ]
    figure = {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": list(range(periods + 1)),
                "y": [f"{c['cohort']} (n={c['size']})" for c in cohorts],
                "text": text,
                "texttemplate": "%{text}",
                "colorscale": "Blues",
                "reversescale": True,  # darker = more retained
                "zmin": 0,
                "zmax": 1,
                "hoverongaps": False,
            }
        ],
        "layout": {
            "xaxis": {"title": {"text": ctx.t("retention.offset")}, "dtick": 1},
            "yaxis": {"autorange": "reversed", "automargin": True},
        },
    }
    return Chart("retention", ctx.t("retention.chart"), figure, rows)


@router.get("/explore/paths")
def paths_page(ctx: Annotated[Ctx, page(PERMISSION)]) -> Response:
    errors: list[str] = []
    start = ctx.query("from", "view") or "view"
    steps = forms.integer(ctx, "max_steps", 4, 1, 8, errors)
    top = forms.integer(ctx, "top", 20, 1, 100, errors)
    result, shown = None, []
    try:
        result = ctx.analysis(checked_paths, start, steps, top)
    except ShopmindError as exc:
        errors.append(str(exc))
    if result is not None and result["paths"]:
        shown = [sankey(ctx, result)]
    return _show(
        ctx,
        "paths",
        errors,
        charts=shown,
        result=result,
        start=start,
        max_steps=steps,
        top=top,
        event_types=_event_types(ctx),
    )


def sankey(ctx: Ctx, result: dict[str, Any]) -> Chart:
    """Nodes are (position, event type); a link carries the paths passing through it."""
    nodes: dict[tuple[int, str], int] = {}
    links: dict[tuple[int, int], int] = {}
    for p in result["paths"]:
        names = p["path"].split(" > ")
        ids = [nodes.setdefault((i, n), len(nodes)) for i, n in enumerate(names)]
        for a, b in pairwise(ids):
            links[(a, b)] = links.get((a, b), 0) + p["count"]
    labels = [f"{i + 1}. {n}" for (i, n) in nodes]
    figure = {
        "data": [
            {
                "type": "sankey",
                "node": {"label": labels, "pad": 14, "thickness": 16},
                "link": {
                    "source": [a for a, _ in links],
                    "target": [b for _, b in links],
                    "value": list(links.values()),
                },
            }
        ]
    }
    return Chart("paths", ctx.t("paths.chart", start=result["from"]), figure, result["paths"])


@router.get("/explore/trends")
def trends_page(ctx: Annotated[Ctx, page(PERMISSION)]) -> Response:
    errors: list[str] = []
    metric = forms.choice(ctx, "metric", METRICS, "revenue", errors)
    interval = forms.choice(ctx, "interval", INTERVALS, "day", errors)
    result, shown = None, []
    try:
        result = ctx.analysis(trends, metric, interval)
    except ShopmindError as exc:
        errors.append(str(exc))
    if result is not None:
        points = result["points"]
        figure = {
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": ctx.t(f"trends.metric.{metric}"),
                    "x": [p["period"] for p in points],
                    "y": [p["value"] for p in points],
                    "marker": {
                        "symbol": ["circle-open" if p["partial"] else "circle" for p in points],
                        "size": 8,
                    },
                }
            ],
            "layout": {"yaxis": {"title": {"text": result["currency"] or ""}}},
        }
        title = ctx.t("trends.chart", metric=ctx.t(f"trends.metric.{metric}"))
        shown = [Chart("trend", title, figure, points)]
    return _show(
        ctx,
        "trends",
        errors,
        charts=shown,
        result=result,
        metric=metric,
        interval=interval,
        money=bool(result and result["measure"] in MONEY),
        metric_options=ctx.options(METRICS, "trends.metric."),
        interval_options=ctx.options(INTERVALS, "interval."),
    )


@router.get("/explore/customers")
def customers_page(ctx: Annotated[Ctx, page(PERMISSION)]) -> Response:
    errors: list[str] = []
    k_text = ctx.query("k")
    k = forms.integer(ctx, "k", 4, 2, 12, errors) if k_text else None
    result, segments, shown = None, None, []
    try:
        result = ctx.analysis(rfm_with_currency)
        if ctx.query("segments"):  # k-means with a silhouette search: seconds, on demand
            segments = ctx.analysis(described_segments, k)
    except ShopmindError as exc:
        errors.append(str(exc))
    if result is not None and result["segments"]:
        shown = [rfm_map(ctx, result)]
    return _show(
        ctx,
        "customers",
        errors,
        charts=shown,
        result=result,
        segments=segments,
        k=k_text,
    )


def described_segments(tables: Tables, k: int | None) -> dict[str, Any]:
    """``shopmind analyze segments --json``: segments with descriptions, no assignments."""
    result = segment_users(tables, k, 0)
    result.pop("assignments", None)
    return result


def rfm_map(ctx: Ctx, result: dict[str, Any]) -> Chart:
    """Segments placed by mean recency (days, reversed: recent on the right) and orders;
    bubble area ~ customers."""
    segs = result["segments"]
    biggest = max(s["customers"] for s in segs) or 1
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [s["mean_recency_days"] for s in segs],
                "y": [s["mean_frequency"] for s in segs],
                "text": [ctx.tr("rfm.name." + s["name"], s["name"]) for s in segs],
                "textposition": "top center",
                "marker": {
                    "size": [12 + 48 * (s["customers"] / biggest) ** 0.5 for s in segs],
                    "opacity": 0.7,
                },
                "customdata": [[s["customers"], s["mean_monetary"]] for s in segs],
                "hovertemplate": "%{text}<br>%{customdata[0]} · %{customdata[1]:.2f}"
                "<extra></extra>",
            }
        ],
        "layout": {
            "xaxis": {"title": {"text": ctx.t("rfm.recency")}, "autorange": "reversed"},
            "yaxis": {"title": {"text": ctx.t("rfm.frequency")}},
        },
    }
    return Chart("rfm", ctx.t("rfm.chart"), figure, segs)
