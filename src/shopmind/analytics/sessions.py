"""Session statistics per source (sessions from :func:`shopmind.features.sessions.sessionize`)."""

from __future__ import annotations

from ibis.expr.types import Table

from shopmind.features.sessions import DEFAULT_GAP_MINUTES, sessionize


def session_stats(
    events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES, source_ids: bool = True
) -> Table:
    """One row per session: user, start, end, events, duration_seconds."""
    s = sessionize(events.filter(events.user_id.notnull()), gap_minutes, source_ids)
    stats = s.group_by(["user_id", "session_key"]).aggregate(
        start=s.ts.min(), end=s.ts.max(), events=s.count()
    )
    return stats.mutate(duration_seconds=stats.end.epoch_seconds() - stats.start.epoch_seconds())
