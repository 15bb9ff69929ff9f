"""Behaviour analytics over the workspace: the library functions the CLI calls, each answer
with the definition of what it counts. Computed in the thread pool (CPU-bound)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from shopmind.analytics.funnel import FunnelQuery, funnel, parse_window
from shopmind.analytics.retention import retention
from shopmind.analytics.rfm import rfm
from shopmind.analytics.trends import trends
from shopmind.serving.auth import ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.schemas import AnalyticsResult

router = APIRouter(
    prefix="/analytics",
    tags=["analytics"],
    dependencies=[require("analytics.read")],
    responses=ERROR_RESPONSES,
)

DEFINITIONS = {
    "funnel": "Unique users reaching each step: a chain starts at a step-1 event and each "
    "next step follows within the window of it (ClickHouse windowFunnel semantics); "
    "conversion = users at the step / users at the previous (or first) step.",
    "retention": "Users whose first 'start' event falls in a cohort period, and how many of "
    "them do a 'return' event k periods later (first_time) or in each later period (recurring).",
    "rfm": "Per customer with purchases: recency (days since the last purchase), frequency "
    "(orders), monetary (revenue); quintile scores r, f, m give the named segments.",
    "trends": "Per day, week or month, as docs/metrics.md defines them: revenue = net revenue "
    "(gross sales of purchase orders minus refunds, refunds dated by the refunded order or, "
    "with refunds_by=refund, by the refund), orders = distinct purchase orders, aov = net "
    "revenue / orders, active_users = distinct users with any event, customers = distinct "
    "buyers, conversion = buyers / active users; partial periods are flagged.",
}
Name = Annotated[str, Query(min_length=1, max_length=64)]
#: Every metric of ``shopmind.analytics.trends.METRICS`` (a test keeps the two equal).
TrendMetric = Literal[
    "revenue",
    "net_revenue",
    "gross_revenue",
    "refunds",
    "orders",
    "order_lines",
    "aov",
    "active_users",
    "customers",
    "new_customers",
    "returning_customers",
    "conversion",
    "active_customers",
]


def _answer(name: str, result: dict[str, Any]) -> AnalyticsResult:
    return AnalyticsResult.model_validate({**result, "definition": DEFINITIONS[name]})


@router.get("/funnel", response_model=AnalyticsResult)
def funnel_route(
    service: ServiceDep,
    steps: Annotated[str, Query(max_length=400, description="e.g. view,cart,purchase")],
    window: Annotated[str, Query(max_length=20)] = "1d",
    order: Literal["ordered", "strict", "unordered"] = "ordered",
    by: Annotated[str | None, Query(max_length=64)] = None,
) -> AnalyticsResult:
    names = tuple(s.strip() for s in steps.split(",") if s.strip())
    if len(names) > 10:
        raise ApiError(422, "A funnel has at most 10 steps.")
    query = FunnelQuery(names, parse_window(window), order, by)
    with service.tables() as tables:
        return _answer("funnel", funnel(tables, query))


@router.get("/retention", response_model=AnalyticsResult)
def retention_route(
    service: ServiceDep,
    start: Name = "view",
    return_: Annotated[str, Query(alias="return", min_length=1, max_length=64)] = "purchase",
    period: Literal["day", "week", "month"] = "week",
    recurring: bool = False,
    periods: Annotated[int, Query(ge=1, le=52)] = 8,
) -> AnalyticsResult:
    with service.tables() as tables:
        result = retention(tables, start, return_, period, recurring, periods)
    return _answer("retention", result)


@router.get("/rfm", response_model=AnalyticsResult)
def rfm_route(service: ServiceDep) -> AnalyticsResult:
    with service.tables() as tables:
        return _answer("rfm", rfm(tables))


@router.get("/trends", response_model=AnalyticsResult)
def trends_route(
    service: ServiceDep,
    metric: TrendMetric = "revenue",
    interval: Literal["day", "week", "month"] = "day",
    refunds_by: Literal["order", "refund"] = "order",
) -> AnalyticsResult:
    """A business metric per period, as ``shopmind analyze trends`` (the same metrics)."""
    with service.tables() as tables:
        return _answer("trends", trends(tables, metric, interval, refunds_by))
