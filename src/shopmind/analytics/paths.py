"""Paths: the most frequent sequences of next event types after a starting event type.

Within sessions (source session ids, else a 30-minute inactivity gap); consecutive repeats of
the same event type are collapsed (view, view, cart -> view, cart) unless ``collapse=False``.
"""

from __future__ import annotations

from typing import Any

import ibis

from shopmind.errors import AnalyticsError
from shopmind.features.sessions import sessionize
from shopmind.features.tables import Tables


def paths(
    tables: Tables, start: str = "view", max_steps: int = 5, top: int = 20, collapse: bool = True
) -> dict[str, Any]:
    if max_steps < 1:
        raise AnalyticsError("--max-steps must be at least 1.")
    events = tables.events()
    s = sessionize(events.filter(events.user_id.notnull() | events.session_id.notnull()))
    s = s.mutate(session_key=ibis.coalesce(s.session_key, s.session_id))
    w = ibis.window(group_by=s.session_key, order_by=[s.ts, s.event_id])
    if collapse:
        s = s.mutate(_prev=s.event_type.lag().over(w))
        s = s.filter(s._prev.isnull() | (s._prev != s.event_type))
        w = ibis.window(group_by=s.session_key, order_by=[s.ts, s.event_id])
    nxt = {f"s{k}": s.event_type.lead(k).over(w) for k in range(1, max_steps + 1)}
    rows = s.mutate(**nxt)
    rows = rows.filter(rows.event_type == start)
    path: Any = rows.event_type
    for k in range(1, max_steps + 1):
        path = path.concat(ibis.ifelse(rows[f"s{k}"].notnull(), " > " + rows[f"s{k}"], ""))
    counted = rows.select(path=path).group_by("path").aggregate(count=ibis._.count())
    result = counted.order_by([ibis.desc("count"), "path"]).limit(top).execute()
    total = int(rows.count().execute())
    if total == 0:
        raise AnalyticsError(f"No '{start}' events to start paths from.")
    return {
        "from": start,
        "max_steps": max_steps,
        "starts": total,
        "paths": [
            {"path": p, "count": int(c), "share": round(int(c) / total, 6)}
            for p, c in zip(result["path"], result["count"], strict=True)
        ],
    }
