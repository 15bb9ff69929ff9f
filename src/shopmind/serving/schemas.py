"""Request and response bodies of the API (the OpenAPI schema comes from here).

Requests forbid unknown fields and bound every string and list, so oversized or misspelt
input is refused with a 422 that names the field instead of being half-used.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: Longest id (user, item, session, event) accepted anywhere.
MAX_ID = 256
#: Most items echoed back in a list of ignored ids.
MAX_ECHO = 100
#: Most events in one POST /v1/events.
MAX_EVENTS = 1000
#: Most item ids in one session request.
MAX_ITEMS = 1000

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoredItem(BaseModel):
    item_id: str
    score: float
    reason: str | None = None


class Recommendations(BaseModel):
    model: str
    fallback: str | None = Field(
        default=None, description="why the generic list was used (e.g. unknown user)"
    )
    items: list[ScoredItem]


class UserRecommendations(Recommendations):
    user_id: str


class SimilarItems(Recommendations):
    item_id: str


class SessionRequest(Strict):
    session_id: Id | None = Field(
        default=None, description="answer from this session's events received so far"
    )
    items: list[Id] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="item ids seen so far, oldest first (optional with session_id; "
        "appended to the session's events)",
    )
    k: int = Field(default=10, ge=1, le=1000)
    exclude_seen: bool = Field(
        default=False,
        description="leave out the items the session already holds (default: keep them, "
        "shoppers often go back to an item they viewed)",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"session_id": "x-42", "k": 10},
                {"items": ["a1", "a2"], "exclude_seen": True},
            ]
        },
    )


class SessionRecommendations(Recommendations):
    session_id: str | None = None
    history: int = Field(0, description="items the answer is based on")
    ignored_items: list[str] = Field(
        default_factory=list, description=f"unknown item ids (the first {MAX_ECHO})"
    )
    ignored_count: int = Field(0, description="how many item ids were unknown in all")


class EventIn(Strict):
    """One behaviour event; validated like a file row (bad values are quarantined)."""

    event_id: Id = Field(description="idempotency key: an id sent twice is stored once")
    user_id: Id | None = Field(default=None, description="stored pseudonymised")
    session_id: Id | None = Field(default=None, description="stored as given")
    event_type: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="view, cart, remove_cart, favorite, purchase, search, refund"
    )
    item_id: Id | None = None
    ts: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="ISO-8601 with an offset, e.g. 2025-03-01T12:00:00+00:00"
    )
    quantity: float | None = None
    price: float | None = None
    order_id: Id | None = None
    query: Annotated[str, StringConstraints(max_length=1000)] | None = None
    source: Annotated[str, StringConstraints(max_length=MAX_ID)] | None = None
    rating: float | None = None


class EventsRequest(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "event_id": "e-1",
                            "session_id": "x-42",
                            "event_type": "view",
                            "item_id": "a1",
                            "ts": "2025-03-01T12:00:00+00:00",
                        }
                    ]
                }
            ]
        },
    )


class QuarantinedEvent(BaseModel):
    index: int = Field(description="position in the request's events list")
    event_id: str
    reason: str


class EventsResponse(BaseModel):
    received: int
    accepted: int = Field(description="new events stored")
    duplicates: int = Field(description="event ids already stored (or repeated in the request)")
    quarantined: int = Field(description="events refused; stored in quarantine with the reason")
    quarantine: list[QuarantinedEvent] = Field(
        default_factory=list, description=f"the first {MAX_ECHO} refused events"
    )


class Health(BaseModel):
    status: str
    model: str | None
    items: int
    users: int


class KeyRequest(Strict):
    role: str = Field(description="admin, analyst, marketer, agent, risk_analyst or service")
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    expires_days: float | None = Field(default=None, gt=0, le=3650)
    rate_limit: float | None = Field(
        default=None, gt=0, le=100_000, description="requests/s (default: the service's)"
    )


class KeyInfo(BaseModel):
    key_id: str
    role: str
    name: str | None
    status: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None = None
    created_by: str | None = None
    rate_limit: float | None = None


class IssuedKey(BaseModel):
    key: str = Field(description="the key; shown this once, only its hash is stored")
    key_id: str
    role: str
    name: str | None
    created_at: str
    expires_at: str | None
    rate_limit: float | None = None


class KeyList(BaseModel):
    keys: list[KeyInfo]


class AuditRow(BaseModel):
    seq: int
    ts: str
    principal: str
    role: str | None
    action: str
    target: str | None
    outcome: str


class AuditList(BaseModel):
    entries: list[AuditRow]


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    head_seq: int | None
    problems: list[dict[str, Any]]


class AnalyticsResult(BaseModel):
    """An analytics answer: the library's result plus the definition of what it counts."""

    model_config = ConfigDict(extra="allow")
    definition: str


def plain(value: Any) -> Any:
    """Stored values made JSON-ready (times as ISO-8601 text)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
