"""Risk API (no authentication here: the secured service mounts this router under ``/v1``
for the roles admin, risk_analyst and service).

``POST /risk/score`` scores one order in about a millisecond from the in-memory state
(:class:`~shopmind.risk.scorer.RiskScorer`); ``POST /risk/events`` records live carts and
refunds; ``GET /risk/reviews`` and ``POST /risk/reviews/{id}/confirm|clear`` work the review
queue.

Inside ``shopmind serve`` (``app.state.service`` set) everything goes through the service's
own database: the scorer is built once at start-up from the service's cursor (before its
writer runs, so every event committed later reaches the scorer through the writer's
listener, :func:`shopmind.serving.app.feed_risk`), reviews are read on the request thread's
cursor and decisions are written by the service's one writer, in one transaction with their
audit entry. Elsewhere (a plain app given a workspace by :func:`install`) the workspace is
opened on use, read-only for reads.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from shopmind.errors import ShopmindError
from shopmind.risk.schemas import OrderRequest, ReviewDecision, RiskDecision, RiskEvent
from shopmind.risk.scorer import OrderInput, RiskScorer
from shopmind.store import Workspace

log = logging.getLogger("shopmind.serving")

router = APIRouter(tags=["risk"])


def install(app: FastAPI, workspace: Workspace) -> None:
    """Give ``app`` the workspace for this router. Inside the service (``app.state.service``)
    the scorer is built now, from the service's connection, when a risk model exists."""
    from shopmind.risk.workspace import model_path

    app.state.risk_workspace = workspace
    service = getattr(app.state, "service", None)
    if service is None or not model_path(workspace).exists():
        return
    try:
        app.state.risk_scorer = _build(workspace, service.cursor())
    except Exception as exc:  # the service still starts; the risk routes say why not
        log.exception("risk scorer not built")
        app.state.risk_error = f"The risk model could not be loaded: {exc}"


def _build(workspace: Workspace, con: Any) -> RiskScorer:
    from shopmind.risk.workspace import WorkspaceRisk

    return RiskScorer.from_connection(con, WorkspaceRisk.load(workspace))


def _workspace(request: Request) -> Workspace:
    workspace = getattr(request.app.state, "risk_workspace", None)
    if workspace is None:
        raise HTTPException(503, "The risk API has no workspace (call routes.risk.install).")
    return workspace


def _service(request: Request) -> Any:
    return getattr(request.app.state, "service", None)


def _no_model(message: str) -> Exception:
    try:
        from shopmind.serving.errors import ApiError
    except ImportError:  # pragma: no cover - the serving package is part of shopmind
        return HTTPException(503, message)
    return ApiError(503, message, code="no_model")


def _scorer(request: Request) -> RiskScorer:
    state = request.app.state
    scorer = getattr(state, "risk_scorer", None)
    if scorer is not None:
        return scorer
    if _service(request) is not None:
        raise _no_model(
            getattr(state, "risk_error", None)
            or "No workspace risk model was loaded when the service started. Stop the "
            "service, train one (`shopmind risk train`), then start the service again."
        )
    try:
        scorer = RiskScorer.from_workspace(_workspace(request))
    except ShopmindError as exc:
        raise HTTPException(503, f"No risk model: {exc}") from exc
    state.risk_scorer = scorer
    return scorer


def _user(request: Request, user_id: str) -> str:
    """The id the workspace stores the user under (its pseudonym inside the service)."""
    service = _service(request)
    return str(service.request_user_id(user_id)) if service is not None else user_id


def _seconds(ts: datetime | None) -> float:
    if ts is None:
        return datetime.now(UTC).timestamp()
    if ts.tzinfo is None:
        raise HTTPException(422, "ts needs a UTC offset, e.g. 2025-03-01T12:00:00+00:00.")
    return ts.timestamp()


@router.post("/risk/score", response_model=RiskDecision, response_model_exclude_none=True)
async def score_order(body: OrderRequest, request: Request) -> RiskDecision:
    """Risk score 0-100, allow/review/block and reasons for one order (``user_id`` as the shop
    knows it: pseudonymised as ingest does when the workspace pseudonymises ids)."""
    scorer = _scorer(request)
    order = OrderInput(
        order_id=body.order_id,
        user_id=_user(request, body.user_id),
        ts=_seconds(body.ts),
        amount=body.amount,
        links={str(k): v for k, v in body.links.items()},
        items=[(line.quantity, line.price) for line in body.items],
    )
    result = scorer.score(order, observe=body.observe)
    features = result.pop("features")
    if body.explain:
        result["features"] = {k: (v if v == v else None) for k, v in features.items()}
    return RiskDecision(**result)


@router.post("/risk/events")
async def record_event(body: RiskEvent, request: Request) -> dict[str, Any]:
    """A live cart or refund event, counted in later velocities (memory only; events posted
    to ``POST /v1/events`` are stored and counted too)."""
    _scorer(request).record_event(_user(request, body.user_id), body.event_type, _seconds(body.ts))
    return {"recorded": True}


@router.get("/risk/reviews")
def reviews(
    request: Request,
    status: Annotated[str, Query(pattern="^(open|confirmed|cleared|all)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """The review queue, riskiest first."""
    from shopmind.jsonable import to_jsonable
    from shopmind.risk.review import list_reviews

    service = _service(request)
    source = service.cursor() if service is not None else _workspace(request)
    rows = list_reviews(source, None if status == "all" else status, limit)
    return [to_jsonable(r) for r in rows]


async def _decide_in_service(
    request: Request, service: Any, review_id: str, body: ReviewDecision, confirm: bool
) -> dict[str, Any]:
    """The decision written by the service's writer (one transaction with its audit entry)."""
    from shopmind.risk.review import decide_on, find_review
    from shopmind.serving.errors import ApiError
    from shopmind.serving.writer import Busy
    from shopmind.store.audit import AuditEntry

    await run_in_threadpool(lambda: find_review(service.cursor(), review_id))  # 404 early
    principal = request.state.principal
    entry = AuditEntry(
        principal.id,
        principal.role,
        f"risk review {'confirm' if confirm else 'clear'}",
        f"review={review_id[:100]}",
        "ok",
    )
    try:
        future = service.writer.submit_call(
            lambda con: decide_on(con, review_id, confirm, body.by, body.note), entry
        )
    except Busy as exc:
        raise ApiError(503, str(exc), code="busy", headers={"Retry-After": "1"}) from None
    try:
        return dict(await asyncio.wait_for(asyncio.wrap_future(future), 30))
    except TimeoutError:
        raise ApiError(503, "The decision was not written in time; retry.", code="busy") from None


async def _decide(
    request: Request, review_id: str, body: ReviewDecision, confirm: bool
) -> dict[str, Any]:
    from shopmind.risk.review import ReviewError, decide

    service = _service(request)
    try:
        if service is not None:
            result = await _decide_in_service(request, service, review_id, body, confirm)
        else:
            workspace = _workspace(request)
            result = await run_in_threadpool(
                decide, workspace, review_id, confirm, body.by, body.note
            )
    except ReviewError as exc:
        status = 404 if "No review" in str(exc) else 422
        raise HTTPException(status, str(exc)) from exc
    scorer = getattr(request.app.state, "risk_scorer", None)
    if confirm and scorer is not None and result.get("user_id"):
        scorer.mark_bad(result["user_id"], datetime.now(UTC).timestamp())
    return result


@router.post("/risk/reviews/{review_id}/confirm")
async def confirm(review_id: str, body: ReviewDecision, request: Request) -> dict[str, Any]:
    """Confirm fraud: stored as a bad label (source review)."""
    return await _decide(request, review_id, body, True)


@router.post("/risk/reviews/{review_id}/clear")
async def clear(review_id: str, body: ReviewDecision, request: Request) -> dict[str, Any]:
    """Clear: stored as a good label (source review)."""
    return await _decide(request, review_id, body, False)
