"""Sessionisation: split each user's events where the inactivity gap exceeds ``gap_minutes``.

Events of a source with session ids keep them; the others get ``<user>#<n>`` keys, n counting
sessions per user from 1 (events ordered by ``(ts, event_id)``).
"""

from __future__ import annotations

import ibis
from ibis.expr.types import Table

DEFAULT_GAP_MINUTES = 30


def sessionize(
    events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES, source_ids: bool = True
) -> Table:
    """Events with ``session_key`` and ``session_number`` (per user, from 1); with
    ``source_ids=False`` the source's session ids are ignored (pure inactivity-gap split)."""
    t = events.mutate(_epoch=events.ts.epoch_seconds())
    w = ibis.window(group_by=t.user_id, order_by=[t.ts, t.event_id])
    t = t.mutate(_gap=t._epoch - t._epoch.lag().over(w))
    t = t.mutate(_new=ibis.ifelse(t._gap.isnull() | (t._gap > gap_minutes * 60), 1, 0))
    t = t.mutate(session_number=t._new.cumsum(group_by=t.user_id, order_by=[t.ts, t.event_id]))
    gap_key = t.user_id.concat("#", t.session_number.cast("string"))
    key = ibis.coalesce(t.session_id, gap_key) if source_ids else gap_key
    return t.mutate(session_key=key).drop("_epoch", "_gap", "_new")
