"""Conversion funnels with ClickHouse ``windowFunnel`` / PostHog semantics.

Per user, the furthest step reached by any chain that starts at a step-1 event and completes
within ``window`` seconds of it. Events are ordered by ``(ts, event_id)``.

* ``ordered``: each step after the previous one; other events may happen in between. The
  earliest next step event is always the best choice, so the chain is built greedily: for
  every event, the row number of the next event of each step type (a window minimum over
  the following rows), then one join per step.
* ``strict``: the steps are consecutive events of the user (nothing in between).
* ``unordered``: any order; the level is the number of step types seen within the window
  after an anchor event of any step type.

Reported per step: unique users, conversion from the previous and from the first step, and
the median seconds from the previous step (over users reaching the step, on their best chain;
for ``ordered`` a chain starts at the last step-1 event before its step 2, which dominates
earlier ones and keeps the work small).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd
from ibis.expr.types import Table

from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables

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
        if value[-1] in units:
            return int(float(value[:-1]) * units[value[-1]])
        return int(value)
    except (ValueError, IndexError):
        raise AnalyticsError(
            f"Window '{text}' is not a duration.", hint="Use e.g. 30m, 1h, 1d or 7d."
        ) from None


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
    base = events.filter(events.user_id.notnull() & events.event_type.isin(list(query.steps)))
    base = _with_breakdown(tables, base, query.by)
    base = base.select(
        "user_id", "event_id", "event_type", "breakdown", t=base.ts.epoch_seconds().cast("int64")
    )
    order = [base.t, base.event_id]
    base = base.mutate(rn=ibis.row_number().over(group_by=base.user_id, order_by=order))
    if query.order == "strict":
        chains = _strict(tables, events, query)
    elif query.order == "unordered":
        chains = _unordered(base, query)
    else:
        chains = _ordered(base, query)
    return _best_chain(chains, len(query.steps))


def _ordered(base: Table, query: FunnelQuery) -> Table:
    if len(set(query.steps)) == len(query.steps):
        # A step-1 event followed (among step events) by another step-1 event is dominated by
        # that later one: both reach the same next steps, the later has more window left.
        run = ibis.window(group_by=base.user_id, order_by=base.rn)
        base = base.mutate(_after=base.event_type.lead().over(run))
        first = query.steps[0]
        base = base.filter(
            (base.event_type != first) | base._after.isnull() | (base._after != first)
        ).drop("_after")
    following = ibis.window(group_by=base.user_id, order_by=base.rn, rows=(1, None))
    nxt = {
        f"n{k}": ibis.ifelse(base.event_type == step, base.rn, None).min().over(following)
        for k, step in enumerate(query.steps[1:], start=2)
    }
    rows = base.mutate(**nxt)
    chain = rows.filter(rows.event_type == query.steps[0]).select(
        "user_id",
        "breakdown",
        t1="t",
        r2="n2",
        **{f"n{k}_from1": f"n{k}" for k in range(3, len(query.steps) + 1)},
    )
    lookup = rows.select("user_id", "rn", "t", *[f"n{k}" for k in range(3, len(query.steps) + 1)])
    for k in range(2, len(query.steps) + 1):
        hop = lookup.rename(**{f"lk_{c}": c for c in lookup.columns}).view()
        joined = chain.left_join(
            hop, (chain.user_id == hop.lk_user_id) & (chain[f"r{k}"] == hop.lk_rn)
        )
        extra = {f"t{k}": joined.lk_t}
        if k < len(query.steps):
            extra[f"r{k + 1}"] = joined[f"lk_n{k + 1}"]
        chain = joined.select(*[c for c in chain.columns], **extra)
    return chain.mutate(level=_level(chain, query))


def _strict(tables: Tables, events: Table, query: FunnelQuery) -> Table:
    all_events = _with_breakdown(tables, events.filter(events.user_id.notnull()), query.by)
    all_events = all_events.select(
        "user_id",
        "event_id",
        "event_type",
        "breakdown",
        t=all_events.ts.epoch_seconds().cast("int64"),
    )
    w = ibis.window(group_by=all_events.user_id, order_by=[all_events.t, all_events.event_id])
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
    ahead = ibis.window(group_by=base.user_id, order_by=base.rn, rows=(0, None))
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


def _best_chain(chains: Table, n_steps: int) -> Table:
    """Per user: the highest level; among equal levels the earliest start."""
    w = ibis.window(group_by=chains.user_id, order_by=[chains.level.desc(), chains.t1])
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
