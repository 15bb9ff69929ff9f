"""Differentially private releases over the API (permission ``dp.release``).

The same library functions as ``shopmind dp``: the aggregates are prepared on the service's
read cursor (thread pool), then the budget check, the ledger row and the noise draw run as
one call on the service's writer, in one transaction with the audit entry. A release beyond
the budget answers 409 ``budget_exceeded`` and spends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from shopmind.analytics.funnel import FunnelQuery
from shopmind.analytics.private import (
    DEFAULT_BOUNDS,
    Prepared,
    prepare_funnel,
    prepare_retention,
    prepare_segments,
)
from shopmind.serving.auth import PrincipalDep, ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.params import EventType, Steps, Window, funnel_steps, window_seconds
from shopmind.serving.service import Principal, Service
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry
from shopmind.store.privacy_budget import BudgetExceededError, charge, read_status

router = APIRouter(
    prefix="/dp",
    tags=["dp"],
    dependencies=[require("dp.release")],
    responses=ERROR_RESPONSES,
)
Epsilon = Annotated[float, Query(gt=0, le=100, description="Privacy loss of this release.")]


async def _release(
    service: Service, principal: Principal, prepare: Callable[[Any], Prepared]
) -> dict[str, Any]:
    def prepared_on_cursor() -> Prepared:
        with service.tables() as tables:
            return prepare(tables)

    prepared = await run_in_threadpool(prepared_on_cursor)
    cost = prepared.cost()

    def work(con: Any) -> Any:
        return charge(con, cost, principal=principal.id, release=prepared.draw)

    target = f"kind={cost.kind} epsilon={cost.epsilon:g}"
    entry = AuditEntry(principal.id, principal.role, "dp release", target, "200")
    try:
        future = service.writer.submit_call(work, entry)
    except Busy as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    try:
        values, ledger_entry = await asyncio.wait_for(asyncio.wrap_future(future), 120)
    except BudgetExceededError as exc:
        raise ApiError(409, str(exc), code="budget_exceeded") from None
    return prepared.publish(values, ledger_entry)


@router.post("/segments")
async def segments(
    service: ServiceDep,
    principal: PrincipalDep,
    epsilon: Epsilon,
    by: Literal["rfm", "country"] = "rfm",
    keys: Annotated[str | None, Query(max_length=2000, description="e.g. GB,FR,DE")] = None,
    lower: float = DEFAULT_BOUNDS[0],
    upper: float = DEFAULT_BOUNDS[1],
) -> dict[str, Any]:
    """Noisy customers and net revenue per segment (see `shopmind dp release segments`)."""
    key_list = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
    return await _release(
        service,
        principal,
        lambda t: prepare_segments(t, epsilon, by=by, keys=key_list, bounds=(lower, upper)),
    )


@router.post("/funnel")
async def funnel(
    service: ServiceDep,
    principal: PrincipalDep,
    epsilon: Epsilon,
    steps: Steps = "view,cart,purchase",
    window: Window = "1d",
    order: Literal["ordered", "strict", "unordered"] = "ordered",
) -> dict[str, Any]:
    """Noisy users per funnel step (see `shopmind dp release funnel`)."""
    query = FunnelQuery(funnel_steps(steps), window_seconds(window), order)
    return await _release(service, principal, lambda t: prepare_funnel(t, query, epsilon))


@router.post("/retention")
async def retention(
    service: ServiceDep,
    principal: PrincipalDep,
    epsilon: Epsilon,
    start: EventType = "purchase",
    return_: Annotated[EventType, Query(alias="return")] = "purchase",
    period: Literal["day", "week", "month"] = "month",
    periods: Annotated[int, Query(ge=1, le=52)] = 6,
) -> dict[str, Any]:
    """Noisy first-time retention cells (see `shopmind dp release retention`)."""
    return await _release(
        service,
        principal,
        lambda t: prepare_retention(
            t, epsilon, start=start, return_=return_, period=period, periods=periods
        ),
    )


@router.get("/budget")
def budget(service: ServiceDep, limit: Annotated[int, Query(ge=0, le=1000)] = 20) -> dict[str, Any]:
    """Total, spent and remaining epsilon with the newest ledger entries."""
    state = read_status(service.cursor(), limit=limit)
    if state is None:
        raise ApiError(409, "This workspace has no privacy budget yet (schema before 9).")
    return state
