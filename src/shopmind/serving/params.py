"""Query parameters the analytics routes share, checked against fixed vocabularies before the
library sees them: a refusal names the parameter and what it accepts, never the value sent
(a 422 does not echo its input)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import Query

from shopmind.analytics.funnel import ITEM_BREAKDOWNS, USER_BREAKDOWNS
from shopmind.serving.errors import ApiError

EventType = Literal["view", "cart", "remove_cart", "favorite", "purchase", "search", "refund"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
#: Funnel breakdowns over the API: attributes shared by many people. Identifier columns
#: (user_id, session_id, event_id, order_id, ...) would give one person's funnel per group.
FUNNEL_BREAKDOWNS: tuple[str, ...] = (*ITEM_BREAKDOWNS, *USER_BREAKDOWNS, "source")
MAX_STEPS = 10

Window = Annotated[
    str,
    Query(
        max_length=20,
        pattern=r"^[0-9]{1,9}(\.[0-9]{1,6})?[smhdw]?$",
        description="e.g. 30m, 1h, 1d, 7d, or seconds",
    ),
]
Steps = Annotated[str, Query(max_length=400, description="e.g. view,cart,purchase")]


def funnel_steps(text: str) -> tuple[str, ...]:
    """The comma-separated steps, each an event type."""
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if len(names) > MAX_STEPS:
        raise ApiError(422, f"steps: a funnel has at most {MAX_STEPS} steps.")
    bad = [i + 1 for i, name in enumerate(names) if name not in EVENT_TYPES]
    if bad:
        where = ", ".join(str(i) for i in bad[:MAX_STEPS])
        raise ApiError(
            422,
            f"steps: each step is an event type ({', '.join(EVENT_TYPES)}); step {where} is not.",
        )
    return names


def window_seconds(text: str) -> int:
    """A window such as ``1d`` in seconds (the pattern of :data:`Window` already holds)."""
    from shopmind.analytics.funnel import parse_window
    from shopmind.errors import ShopmindError

    try:
        return parse_window(text)
    except ShopmindError:
        raise ApiError(
            422, "window: use a positive duration, e.g. 30m, 1h, 1d or 7d.", code="analytics_error"
        ) from None


def funnel_breakdown(by: str | None) -> str | None:
    """``by`` when it is an allowed breakdown."""
    if by is not None and by not in FUNNEL_BREAKDOWNS:
        raise ApiError(
            422,
            f"by: break a funnel down by one of {', '.join(FUNNEL_BREAKDOWNS)}; identifier "
            "columns (user_id, session_id, ...) would give one person's funnel per group.",
        )
    return by
