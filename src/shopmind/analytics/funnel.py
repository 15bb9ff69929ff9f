"""Conversion funnels with ClickHouse ``windowFunnel`` / PostHog semantics.

Per user, the furthest step reached by any chain that starts at a step-1 event and completes
within ``window`` seconds of it. Events are ordered by ``(ts, event_id)``; for ``ordered``
funnels events at the same time go in step order first, ``(ts, step, event_id)``, as ClickHouse
sorts ``(time, step)`` (its test 01646): a view and a cart logged in the same second convert.
(With a step name repeated, e.g. view,cart,view, an event takes its name's first position;
ClickHouse keeps one entry per matching step, so same-time events can rank higher there.)

* ``ordered``: each step after the previous one; other events may happen in between. The
  earliest next step event is always the best choice, so the chain is built greedily, from
  the last step back: the chain after a step-k event is the one of the first step-(k+1) event
  that follows it, and since later starts never finish earlier it is the per-column minimum
  over the following step-(k+1) events (one window pass per step, no joins).
* ``strict``: the steps are consecutive events of the user (nothing in between).
* ``unordered``: any order; the level is the number of step types seen within the window
  after an anchor event of any step type.

Times are whole seconds since the epoch, rounded down (as on Spark); the window compares
them. Reported per step: unique users, conversion from the previous and from the first step,
and the median seconds from the previous step (over users reaching the step, on their best
chain; for ``ordered`` a chain starts at the last step-1 event before its step 2, which
dominates earlier ones and keeps the work small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd
from ibis.expr.types import Table

from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables, epoch_us

FunnelOrder = Literal["ordered", "strict", "unordered"]
ITEM_BREAKDOWNS = ("category", "brand")
USER_BREAKDOWNS = ("country", "gender")


@dataclass(frozen=True)
class FunnelQuery:
    steps: tuple[str, ...]
    window_seconds: int = 86_400
    order: FunnelOrder = "ordered"
    by: str | None = None


def parse_window(text: str) -> int:
    """'30m', '1h', '1d', '2w' or plain seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
    value = text.strip().lower()
    try:
        seconds = int(float(value[:-1]) * units[value[-1]]) if value[-1] in units else int(value)
    except (ValueError, IndexError, OverflowError):
        raise AnalyticsError(
            f"Window '{text}' is not a duration.", hint="Use e.g. 30m, 1h, 1d or 7d."
        ) from None
    if seconds <= 0:
        raise AnalyticsError(
            f"Window '{text}' is not a positive duration.", hint="Use e.g. 30m, 1h, 1d or 7d."
        )
    return seconds


def _check_steps(tables: Tables, steps: tuple[str, ...]) -> None:
    if len(steps) < 2:
        raise AnalyticsError("A funnel needs at least two steps.", hint="e.g. --steps view,cart")
    tables.require_event_types(steps, "funnel step")


def _with_breakdown(tables: Tables, events: Table, by: str | None) -> Table:
    if by is None:
        return events.mutate(breakdown=ibis.literal(None, type="string"))
    if by in ITEM_BREAKDOWNS:
        items = tables["items"].select("item_id", value=tables["items"][by])
        joined = events.left_join(items, events.item_id == items.item_id)
        return joined.select(*events.columns, breakdown=joined.value.cast("string"))
    if by in USER_BREAKDOWNS:
        users = tables["users"].select("user_id", value=tables["users"][by])
        joined = events.left_join(users, events.user_id == users.user_id)
        return joined.select(*events.columns, breakdown=joined.value.cast("string"))
    if by in events.columns:
        return events.mutate(breakdown=events[by].cast("string"))
    raise AnalyticsError(
        f"Cannot break down by '{by}'.",
        hint=f"Use an events column ({', '.join(events.columns)}) or one of "
        f"{', '.join(ITEM_BREAKDOWNS + USER_BREAKDOWNS)}.",
    )


def funnel_levels(tables: Tables, query: FunnelQuery) -> Table:
    """One row per user who did step 1: ``level`` reached and ``t1..tk`` (epoch seconds)."""
    events = tables.events()
    _check_steps(tables, query.steps)
    if query.order == "strict":
        return _best_chain(_strict(tables, events, query), len(query.steps))
    base = events.filter(events.user_id.notnull() & events.event_type.isin(list(query.steps)))
    if query.order == "ordered" and query.by is None:  # less to carry through the sorts
        base = base.select("user_id", "event_type", _us=epoch_us(base.ts))
        return _best_ranked_chain(_ordered(base, query), len(query.steps))
    base = _with_breakdown(tables, base, query.by)
    # microseconds order the events (event_id breaks ties); whole seconds measure the window
    base = base.select("user_id", "event_id", "event_type", "breakdown", _us=epoch_us(base.ts))
    if query.order == "unordered":
        return _best_chain(
            _unordered(base.mutate(t=base._us // 1_000_000), query), len(query.steps)
        )
    return _best_ranked_chain(_ordered(base, query), len(query.steps))


def _ordered(base: Table, query: FunnelQuery) -> Table:
    steps, n = query.steps, len(query.steps)
    names = list(dict.fromkeys(steps))  # event types as small integers in the sorts
    kind = ibis.cases(*[(base.event_type == name, i) for i, name in enumerate(names)])
    base = base.mutate(_k=kind.cast("int8")).drop("event_type")
    # One sort of the step events: their rank per user, and the type of the next one. Events
    # at the same time go in step order (as ClickHouse's windowFunnel sorts (time, step)).
    # Without a breakdown, events of one user with equal (time, step) are interchangeable, so
    # event_id (a string, the costliest sort key) only orders them when a breakdown may differ.
    ties = [base.event_id] if "breakdown" in base.columns else []
    run = ibis.window(group_by=base.user_id, order_by=[base._us, base._k, *ties])
    ranked = base.mutate(_rn=ibis.row_number().over(run), _after=base._k.lead().over(run))
    if len(names) == n:
        # A step-1 event followed (among step events) by another step-1 event is dominated by
        # that later one: both reach the same next steps, the later has more window left.
        ranked = ranked.filter((ranked._k != 0) | ranked._after.isnull() | (ranked._after != 0))
    keep = ["user_id", *(["breakdown"] if "breakdown" in base.columns else []), "_rn", "t"]
    rows = ranked.mutate(t=ranked._us // 1_000_000).select(*keep, "_k")
    # chains of the last step's events: c{n} is their own time
    later = rows.filter(rows._k == names.index(steps[-1])).select(*keep, **{f"c{n}": "t"})
    for k in range(n - 1, 0, -1):  # the chain after each step-k event, from step k+1's
        ahead = [f"c{m}" for m in range(k + 1, n + 1)]
        cur = rows.filter(rows._k == names.index(steps[k - 1])).select(
            *keep, _next=ibis.literal(0), **{c: ibis.literal(None, type="int64") for c in ahead}
        )
        nxt = later.mutate(_next=ibis.literal(1), **{f"c{k + 1}": later.t}).select(
            *keep, "_next", *ahead
        )
        both = cur.union(nxt)
        # an event in both roles (a repeated step name): its step-(k+1) copy comes first
        order = [both._rn, both._next.desc()]
        following = ibis.window(group_by=both.user_id, order_by=order, rows=(1, None))
        found = {
            c: ibis.ifelse(both._next == 1, both[c], None).min().over(following) for c in ahead
        }
        stepped = both.mutate(**found)
        later = stepped.filter(stepped._next == 0).select(*keep, *ahead)
    if "breakdown" not in later.columns:
        later = later.mutate(breakdown=ibis.literal(None, type="string"))
    chain = later.select(
        "user_id", "breakdown", "_rn", t1="t", **{f"t{m}": f"c{m}" for m in range(2, n + 1)}
    )
    return chain.mutate(level=_level(chain, query))


def _strict(tables: Tables, events: Table, query: FunnelQuery) -> Table:
    all_events = _with_breakdown(tables, events.filter(events.user_id.notnull()), query.by)
    us = epoch_us(all_events.ts)
    all_events = all_events.select(
        "user_id", "event_id", "event_type", "breakdown", _us=us, t=us // 1_000_000
    )
    w = ibis.window(group_by=all_events.user_id, order_by=[all_events._us, all_events.event_id])
    leads = {}
    for k in range(2, len(query.steps) + 1):
        leads[f"e{k}"] = all_events.event_type.lead(k - 1).over(w)
        leads[f"t{k}"] = all_events.t.lead(k - 1).over(w)
    rows = all_events.mutate(**leads)
    chain = rows.filter(rows.event_type == query.steps[0]).rename(t1="t")
    ok = ibis.literal(True)
    masked = {}
    for k, step in enumerate(query.steps[1:], start=2):
        ok = ok & (chain[f"e{k}"] == step)
        masked[f"t{k}"] = ibis.ifelse(ok, chain[f"t{k}"], None)
    chain = chain.mutate(**masked)
    return chain.mutate(level=_level(chain, query))


def _unordered(base: Table, query: FunnelQuery) -> Table:
    ahead = ibis.window(group_by=base.user_id, order_by=[base._us, base.event_id], rows=(0, None))
    seen = {
        f"s{k}": ibis.ifelse(base.event_type == step, base.t, None).min().over(ahead)
        for k, step in enumerate(query.steps, start=1)
    }
    rows = base.mutate(**seen)
    within = [
        ibis.ifelse(
            rows[f"s{k}"].notnull() & (rows[f"s{k}"] - rows.t <= query.window_seconds), 1, 0
        )
        for k in range(1, len(query.steps) + 1)
    ]
    level = within[0]
    for term in within[1:]:
        level = level + term
    rows = rows.mutate(level=level, t1=rows.t)
    return rows.select(
        "user_id",
        "breakdown",
        "_us",
        "event_id",
        "t1",
        "level",
        **{f"t{k}": ibis.literal(None, type="int64") for k in range(2, len(query.steps) + 1)},
    )


def _level(chain: Table, query: FunnelQuery) -> Any:
    """1 + the number of consecutive later steps completed within the window of t1."""
    level: Any = ibis.literal(1)
    ok: Any = ibis.literal(True)
    for k in range(2, len(query.steps) + 1):
        tk = chain[f"t{k}"]
        ok = ok & tk.notnull() & (tk - chain.t1 <= query.window_seconds)
        level = level + ibis.ifelse(ok, 1, 0)
    return level


def _best_ranked_chain(chains: Table, n_steps: int) -> Table:
    """:func:`_best_chain` for chains numbered by ``_rn``: the highest level, then the
    smallest ``_rn``, as one aggregate (the whole chain, as a struct, at the maximum of
    ``level * 2**40 - _rn``) instead of a window that sorts every chain again."""
    key = chains.level.cast("int64") * (1 << 40) - chains._rn
    names = ["breakdown", "level", *[f"t{k}" for k in range(1, n_steps + 1)]]
    chain = ibis.struct({name: chains[name] for name in names})
    best = chains.group_by("user_id").aggregate(_best=chain.argmax(key))
    return best.select("user_id", **{name: best._best[name] for name in names})


def _best_chain(chains: Table, n_steps: int) -> Table:
    """Per user: the highest level; among equal levels the earliest start."""
    order = [chains.level.desc(), chains._us, chains.event_id]
    w = ibis.window(group_by=chains.user_id, order_by=order)
    ranked = chains.mutate(pick=ibis.row_number().over(w))
    keep = ["user_id", "breakdown", "level", *[f"t{k}" for k in range(1, n_steps + 1)]]
    return ranked.filter(ranked.pick == 0).select(*keep)


def funnel_summary(levels: pd.DataFrame, query: FunnelQuery) -> list[dict[str, Any]]:
    """Users per step, conversions and median seconds from the previous step."""
    steps = []
    first = int((levels["level"] >= 1).sum())
    previous = first
    for k, name in enumerate(query.steps, start=1):
        reached = levels[levels["level"] >= k]
        users = len(reached)
        median = None
        if k > 1 and users and query.order != "unordered":
            median = float((reached[f"t{k}"] - reached[f"t{k - 1}"]).median())
        steps.append(
            {
                "name": name,
                "step": k,
                "users": users,
                "conversion_from_previous": round(users / previous, 6) if previous else None,
                "conversion_from_first": round(users / first, 6) if first else None,
                "median_seconds_from_previous": median,
            }
        )
        previous = users
    return steps


def funnel(tables: Tables, query: FunnelQuery) -> dict[str, Any]:
    """The funnel report (overall and, with ``by``, per breakdown value)."""
    levels = funnel_levels(tables, query).execute()
    result: dict[str, Any] = {
        "steps": funnel_summary(levels, query),
        "order": query.order,
        "window_seconds": query.window_seconds,
    }
    if query.by:
        groups = levels.fillna({"breakdown": "(none)"}).groupby("breakdown")
        result["by"] = query.by
        result["breakdown"] = {
            str(value): funnel_summary(group, query)
            for value, group in sorted(groups, key=lambda g: -len(g[1]))[:20]
        }
    return result
