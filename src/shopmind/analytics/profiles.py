"""User profiles: behavioural tags per user, stored in the ``user_profiles`` table.

Tags: favourite category and brand (most events, purchases weigh 5, carts 2, others 1),
price band (tercile of the user's mean viewed/bought price: low / mid / high), most active
hour and weekday (UTC), lifecycle stage relative to the reference day (the day after the last
event): ``new`` (first seen within 30 days), ``active`` (last seen within 30 days),
``at_risk`` (30-90 days), ``churned`` (over 90 days); RFM segment, CLV band (tercile of the
predicted 12-month CLV when a CLV model was fitted) and main traffic source.
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from shopmind.analytics.rfm import rfm_table
from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables

NEW_DAYS, ACTIVE_DAYS, AT_RISK_DAYS = 30, 30, 90
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _top(events: Any, column: str, weight: Any) -> Any:
    """Per user, the value of ``column`` with the highest total weight (ties: smallest)."""
    scored = (
        events.filter(events[column].notnull())
        .group_by(["user_id", column])
        .aggregate(w=weight.sum())
    )
    w = ibis.window(group_by=scored.user_id, order_by=[ibis.desc(scored.w), scored[column]])
    ranked = scored.mutate(pick=ibis.row_number().over(w))
    return ranked.filter(ranked.pick == 0).select("user_id", ranked[column])


def build_profiles(tables: Tables, clv: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per known user with the tags above."""
    events = tables.events()
    e = events.filter(events.user_id.notnull())
    items = tables["items"].select("item_id", "category", "brand", item_price="price")
    e = e.left_join(items, e.item_id == items.item_id).select(
        *e.columns, "category", "brand", "item_price"
    )
    weight = ibis.cases((e.event_type == "purchase", 5), (e.event_type == "cart", 2), else_=1)
    e = e.mutate(weight=weight, hour=e.ts.hour(), weekday=e.ts.day_of_week.index())
    base = e.group_by("user_id").aggregate(
        first_seen=e.ts.min(),
        last_seen=e.ts.max(),
        events=e.count(),
        purchases=(e.event_type == "purchase").sum(),
        mean_price=ibis.coalesce(e.price, e.item_price).mean(),
        source=e.source.mode(),
    )
    frame = base.execute()
    if frame.empty:
        raise AnalyticsError(
            "No event carries a user id (a log of anonymous sessions): profiles describe known "
            "users.",
            hint="Load events with a user_id column (or --map user_id=...) to build profiles.",
        )
    for column in ("category", "brand", "hour", "weekday"):
        top = _top(e, column, e.weight).execute()
        frame = frame.merge(
            top.rename(columns={column: f"favourite_{column}"}), on="user_id", how="left"
        )
    reference = pd.Timestamp(frame["last_seen"].max()).normalize() + pd.Timedelta(days=1)
    first_days = (reference - pd.to_datetime(frame["first_seen"])).dt.total_seconds() / 86_400
    last_days = (reference - pd.to_datetime(frame["last_seen"])).dt.total_seconds() / 86_400
    frame["lifecycle"] = [
        "new"
        if f <= NEW_DAYS
        else "active"
        if ld <= ACTIVE_DAYS
        else "at_risk"
        if ld <= AT_RISK_DAYS
        else "churned"
        for f, ld in zip(first_days, last_days, strict=True)
    ]
    frame["price_band"] = _terciles(frame["mean_price"], ["low", "mid", "high"])
    frame["active_weekday"] = frame.pop("favourite_weekday").map(
        lambda d: WEEKDAYS[int(d)] if pd.notna(d) else None
    )
    frame["active_hour"] = frame.pop("favourite_hour")
    if tables.dates_only():  # CDNOW's days: every event at midnight, hour 0 means nothing
        frame["active_hour"] = None
    try:
        segments = rfm_table(tables).select("user_id", rfm_segment="segment").execute()
        frame = frame.merge(segments, on="user_id", how="left")
    except Exception:  # no purchases: no RFM segment
        frame["rfm_segment"] = None
    if clv is not None and len(clv):
        bands = clv[["customer_id", "clv"]].rename(columns={"customer_id": "user_id"})
        bands["clv_band"] = _terciles(bands["clv"], ["low", "mid", "high"])
        frame = frame.merge(bands[["user_id", "clv", "clv_band"]], on="user_id", how="left")
    else:
        frame["clv"] = None
        frame["clv_band"] = None
    return frame


def _terciles(values: pd.Series, labels: list[str]) -> pd.Series:
    ranks = values.rank(pct=True, method="average")
    return pd.cut(ranks, [0, 1 / 3, 2 / 3, 1.0], labels=labels, include_lowest=True).astype(object)
