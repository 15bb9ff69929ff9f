"""Sessionisation: split each user's events where the inactivity gap exceeds ``gap_minutes``.

Events of a source with session ids keep them; the others get ``<user>#<n>`` keys, n counting
sessions per user from 1 (events ordered by ``(ts, event_id)``).
"""

from __future__ import annotations

import ibis
from ibis.expr.types import Table

from shopmind.features.tables import Tables, epoch_us

DEFAULT_GAP_MINUTES = 30


def _gap_us(gap_minutes: float) -> int:
    return round(gap_minutes * 60 * 1_000_000)


def sessionize(
    events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES, source_ids: bool = True
) -> Table:
    """Events with ``session_key`` and ``session_number`` (per user, from 1); with
    ``source_ids=False`` the source's session ids are ignored (pure inactivity-gap split)."""
    t = events.mutate(_us=epoch_us(events.ts))
    order = [t._us, t.event_id]
    gap = t._us - t._us.lag().over(ibis.window(group_by=t.user_id, order_by=order))
    t = t.mutate(_new=ibis.ifelse(gap.isnull() | (gap > _gap_us(gap_minutes)), 1, 0))
    t = t.mutate(session_number=t._new.cumsum(group_by=t.user_id, order_by=[t._us, t.event_id]))
    gap_key = t.user_id.concat("#", t.session_number.cast("string"))
    key = ibis.coalesce(t.session_id, gap_key) if source_ids else gap_key
    return t.mutate(session_key=key).drop("_us", "_new")


def gap_sessions(events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES) -> Table:
    """One row per inactivity-gap session: ``user_id``, ``session_number`` (from 1), ``start``,
    ``end`` (timestamps), ``events`` and ``duration_us`` (microseconds).

    Same sessions as :func:`sessionize` with ``source_ids=False``, computed without labelling
    every event: one sort per user finds each event's gap to the previous one; only session
    starts and each user's last event go on, to a second, small window where a session ends
    just before the next start (its ``lag`` time is the session's last event) or at the user's
    last event. Events with the same timestamp always share a session, so their order does
    not matter here.
    """
    e = events.select("user_id", "ts")
    # the sort carries the timestamp alone (microseconds are taken after it: less to move)
    w = ibis.window(group_by=e.user_id, order_by=e.ts)
    e = e.mutate(_p=e.ts.lag().over(w), _n=e.ts.lead().over(w), _rn=ibis.row_number().over(w))
    prev_us = epoch_us(e._p)
    e = e.mutate(
        _first=prev_us.isnull() | (epoch_us(e.ts) - prev_us > _gap_us(gap_minutes)),
        _final=e._n.isnull(),
    )
    b = e.filter(e._first | e._final)  # a user's last event may start a session too
    w2 = ibis.window(group_by=b.user_id, order_by=b._rn)
    after_start, after_p = b._first.lead().over(w2), b._p.lead().over(w2)
    after_ts, after_rn = b.ts.lead().over(w2), b._rn.lead().over(w2)
    b = b.mutate(
        end=ibis.cases((b._final, b.ts), (after_start, after_p), else_=after_ts),
        _end_rn=ibis.cases((b._final, b._rn), (after_start, after_rn - 1), else_=after_rn),
        # starts come before the user's last event in this window: their rank is the number
        session_number=ibis.row_number().over(w2) + 1,
    )
    s = b.filter(b._first)
    return s.select(
        "user_id",
        "session_number",
        start=s.ts,
        end=s.end,
        events=s._end_rn - s._rn + 1,
        duration_us=epoch_us(s.end) - epoch_us(s.ts),
    )


def sessions_per_user(events: Table, gap_minutes: float = DEFAULT_GAP_MINUTES) -> Table:
    """Number of inactivity-gap sessions per user (``user_id``, ``sessions``): one window
    (each event's gap to the previous one) and a count, nothing labelled."""
    e = events.select("user_id", _us=epoch_us(events.ts))
    e = e.mutate(_prev=e._us.lag().over(ibis.window(group_by=e.user_id, order_by=e._us)))
    starts = e._prev.isnull() | (e._us - e._prev > _gap_us(gap_minutes))
    return e.group_by("user_id").aggregate(sessions=ibis.ifelse(starts, 1, 0).sum())


def session_tables(
    tables: Tables, gap_minutes: float = DEFAULT_GAP_MINUTES, *, ids_only: bool = False
) -> Tables:
    """The same tables with the events' ``user_id`` replaced by a session key, so every
    per-user analysis counts sessions: the log's session id where there is one, else the
    user's events split by the inactivity gap (``<user>#<n>``, see :func:`sessionize`).
    Events with neither a user nor a session id drop out. ``ids_only`` (a session-only log:
    no user ids at all) takes the session ids as they are, without the window."""
    swapped = dict(tables.tables)
    events = tables.tables["events"]
    if ids_only:
        swapped["events"] = events.mutate(user_id=events.session_id).select(*events.columns)
        return tables.with_tables(swapped)
    keyed = sessionize(events, gap_minutes)
    swapped["events"] = keyed.mutate(user_id=keyed.session_key).select(*events.columns)
    return tables.with_tables(swapped)
