"""Retention cohorts (PostHog semantics).

``first_time``: a user's cohort is the period of their first ``start`` event.
``recurring``: a user enters a cohort in every period with a ``start`` event.
Period 0 is the cohort itself (its size); period n counts cohort users with a ``return``
event in the n-th period after the cohort's. Weeks start on Monday (ISO), months are
calendar months, all in UTC.
"""

from __future__ import annotations

from typing import Any, Literal

import ibis
import pandas as pd
from ibis.expr.types import Table

from shopmind.analytics.metrics import next_period, period_partial
from shopmind.features.tables import Tables

Period = Literal["day", "week", "month"]
_UNIT = {"day": "D", "week": "W", "month": "M"}


def _periods(events: Table, event_type: str, period: Period) -> Table:
    chosen = events.filter((events.event_type == event_type) & events.user_id.notnull())
    return chosen.select("user_id", p=chosen.ts.truncate(_UNIT[period]).date()).distinct()


def _offset(later: Any, earlier: Any, period: Period) -> Any:
    if period == "month":
        return (later.year() - earlier.year()) * 12 + (later.month() - earlier.month())
    days = later.epoch_seconds() // 86_400 - earlier.epoch_seconds() // 86_400
    return days // 7 if period == "week" else days


def retention_counts(
    tables: Tables,
    start: str,
    return_: str,
    period: Period,
    recurring: bool = False,
    periods: int = 8,
) -> Table:
    """Rows (cohort, offset, users) for offsets 0..periods."""
    events = tables.events()
    tables.require_event_types([start, return_])
    starts = _periods(events, start, period)
    if not recurring:
        starts = starts.group_by("user_id").aggregate(p=starts.p.min())
    cohorts = starts.rename(cohort="p")
    returns = _periods(events, return_, period).rename(r_user="user_id", r="p")
    joined = cohorts.inner_join(returns, cohorts.user_id == returns.r_user)
    joined = joined.select("user_id", "cohort", offset=_offset(joined.r, joined.cohort, period))
    joined = joined.filter((joined.offset >= 1) & (joined.offset <= periods))
    returned = joined.group_by(["cohort", "offset"]).aggregate(users=joined.user_id.nunique())
    sizes = cohorts.group_by("cohort").aggregate(users=cohorts.user_id.nunique())
    sizes = sizes.mutate(offset=ibis.literal(0, type="int64"))
    return ibis.union(
        sizes.select("cohort", "offset", "users"),
        returned.select("cohort", returned.offset.cast("int64").name("offset"), "users"),
    )


def retention(
    tables: Tables,
    start: str,
    return_: str,
    period: Period = "week",
    recurring: bool = False,
    periods: int = 8,
) -> dict[str, Any]:
    """The cohort x period matrix with counts and rates.

    A cell whose period starts after the data ends cannot be observed yet: its count and rate
    are None (not 0). The period holding the last event is usually partial
    (``last_period_partial``); each cohort's ``partial_offset`` names its cell in that period.
    """
    counts = retention_counts(tables, start, return_, period, recurring, periods).execute()
    matrix = counts.pivot_table(
        index="cohort", columns="offset", values="users", aggfunc="sum", fill_value=0
    )
    matrix = matrix.reindex(columns=range(periods + 1), fill_value=0).sort_index()
    events = tables.events()
    last = tables.local(events.ts.max().execute())
    last_period = _bucket_start(last, period)
    # the trends' rule (a date covers its day, an end in the last 1% covers the period)
    last_partial = period_partial(
        last_period, next_period(last_period, period), last_period, last, tables.dates_only()
    )
    cohorts = []
    for cohort, row in matrix.iterrows():
        begin = pd.Timestamp(cohort)
        size = int(row[0])
        observable = _periods_between(begin, last_period, period)
        values = [int(v) if n <= observable else None for n, v in enumerate(row.tolist())]
        cohorts.append(
            {
                "cohort": begin.date().isoformat(),
                "size": size,
                "retained": values,
                "rates": [
                    None if v is None else (round(v / size, 6) if size else None) for v in values
                ],
                "partial_offset": observable if last_partial and observable <= periods else None,
            }
        )
    return {
        "period": period,
        "start": start,
        "return": return_,
        "mode": "recurring" if recurring else "first_time",
        "last_period": last_period.date().isoformat(),
        "last_period_partial": last_partial,
        "cohorts": cohorts,
    }


def _bucket_start(ts: pd.Timestamp, period: Period) -> pd.Timestamp:
    day = ts.normalize()
    if period == "month":
        return day.replace(day=1)
    if period == "week":
        return day - pd.Timedelta(days=day.weekday())
    return day


def _periods_between(cohort: pd.Timestamp, later: pd.Timestamp, period: Period) -> int:
    if period == "month":
        return (later.year - cohort.year) * 12 + later.month - cohort.month
    days = (later - cohort).days
    return days // 7 if period == "week" else days
