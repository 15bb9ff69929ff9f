"""Session statistics per source (sessions from :mod:`shopmind.features.sessions`)."""

from __future__ import annotations

from typing import Any

import ibis
from ibis.expr.types import Table

from shopmind.features.sessions import DEFAULT_GAP_MINUTES, gap_sessions, sessionize
from shopmind.features.tables import epoch_us


def session_stats(
    events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES, source_ids: bool = True
) -> Table:
    """One row per session: user, session_key, start, end, events, duration_seconds (whole)."""
    events = events.filter(events.user_id.notnull())
    if not source_ids:
        g = gap_sessions(events, gap_minutes)
        return g.select(
            "user_id",
            session_key=g.user_id.concat("#", g.session_number.cast("string")),
            start=g.start,
            end=g.end,
            events=g.events,
            duration_seconds=g.duration_us // 1_000_000,
        )
    s = sessionize(events, gap_minutes, source_ids=False)
    # a source's session id, else the gap session: grouped by numbers, keys made per session
    s = s.mutate(_us=epoch_us(s.ts), _n=ibis.ifelse(s.session_id.isnull(), s.session_number, None))
    stats = s.group_by(["user_id", "session_id", "_n"]).aggregate(
        start=s.ts.min(), end=s.ts.max(), events=s.count(), _d=s._us.max() - s._us.min()
    )
    key = ibis.coalesce(stats.session_id, stats.user_id.concat("#", stats._n.cast("string")))
    return stats.select(
        "user_id",
        session_key=key,
        start=stats.start,
        end=stats.end,
        events=stats.events,
        duration_seconds=stats._d // 1_000_000,
    )


def session_summary(events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES) -> dict[str, Any]:
    """Sessions, users with a session, mean events per session and median session length in
    seconds (``shopmind analyze sessions``), with the gap used."""
    stats = session_stats(events, gap_minutes)
    row = (
        stats.aggregate(
            sessions=stats.count(),
            users=stats.user_id.nunique(),
            mean_events=stats.events.mean(),
            median_duration_seconds=stats.duration_seconds.median(),
        )
        .execute()
        .iloc[0]
    )
    result: dict[str, Any] = {
        k: (float(v) if k.startswith(("mean", "median")) else int(v)) for k, v in row.items()
    }
    result["gap_minutes"] = gap_minutes
    return result
