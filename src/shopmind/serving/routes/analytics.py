"""Behaviour analytics over the workspace: the library functions the CLI calls, each answer
with the definition of what it counts. Computed in the thread pool (CPU-bound)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from shopmind.analytics.funnel import FunnelQuery, funnel
from shopmind.analytics.retention import retention
from shopmind.analytics.rfm import rfm
from shopmind.analytics.trends import trends
from shopmind.serving.auth import ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES
from shopmind.serving.params import (
    EventType,
    Steps,
    Window,
    funnel_breakdown,
    funnel_steps,
    window_seconds,
)
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
    steps: Steps,
    window: Window = "1d",
    order: Literal["ordered", "strict", "unordered"] = "ordered",
    by: Annotated[str | None, Query(max_length=64)] = None,
) -> AnalyticsResult:
    """Users per funnel step; ``by`` breaks it down by an attribute shared by many people
    (category, brand, country, gender, source), never by an identifier."""
    query = FunnelQuery(funnel_steps(steps), window_seconds(window), order, funnel_breakdown(by))
    with service.tables() as tables:
        return _answer("funnel", funnel(tables, query))


@router.get("/retention", response_model=AnalyticsResult)
def retention_route(
    service: ServiceDep,
    start: EventType = "view",
    return_: Annotated[EventType, Query(alias="return")] = "purchase",
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
