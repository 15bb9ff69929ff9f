"""Real-time events: validated like a file, written by the one micro-batching writer,
acknowledged only once committed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from shopmind.serving.auth import PrincipalDep, ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.schemas import MAX_ECHO, EventsRequest, EventsResponse, QuarantinedEvent
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry

router = APIRouter(
    tags=["events"], dependencies=[require("events.write")], responses=ERROR_RESPONSES
)

#: Seconds a request waits for its batch to commit before answering 503 (retry is safe).
ACK_TIMEOUT = 30.0


@router.post("/events", response_model=EventsResponse)
async def post_events(
    request: Request, service: ServiceDep, principal: PrincipalDep, body: EventsRequest
) -> EventsResponse:
    """Store events (one or a batch). Idempotent by ``event_id``: resending is safe and
    counts as duplicates. Bad events are quarantined with the reason and listed back. The
    answer comes after the events are committed; 503 with Retry-After when the writer is
    behind (nothing of that request was acknowledged)."""
    events = [e.model_dump(exclude_none=True) for e in body.events]
    audit = AuditEntry(
        principal.id, principal.role, "POST /v1/events", f"events={len(events)}", "pending"
    )
    try:
        future = service.writer.submit_events(events, audit)
    except Busy as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        raise ApiError(503, str(exc), code="busy", headers=headers) from None
    request.state.audited = True  # the writer audits the request with the events
    try:
        outcome = await asyncio.wait_for(asyncio.wrap_future(future), ACK_TIMEOUT)
    except TimeoutError:
        raise ApiError(
            503,
            "The events were not acknowledged in time; resend them (event ids make it safe).",
            code="busy",
            headers={"Retry-After": "5"},
        ) from None
    except Exception as exc:
        raise ApiError(
            503,
            f"Writing the events failed and nothing was stored: {str(exc)[:200]}",
            code="write_failed",
            headers={"Retry-After": "5"},
        ) from None
    quarantine = [
        QuarantinedEvent(index=i, event_id=events[i]["event_id"], reason=reason)
        for i, reason in sorted(outcome.quarantined.items())[:MAX_ECHO]
    ]
    return EventsResponse(
        received=len(events),
        accepted=len(outcome.accepted),
        duplicates=len(outcome.duplicates),
        quarantined=len(outcome.quarantined),
        quarantine=quarantine,
    )
