"""Trends per day or week: revenue, orders, active users, conversion (buyers / active users)."""

from __future__ import annotations

from typing import Any, Literal

import ibis

from shopmind.analytics.backend import AnalyticsError, Tables

Metric = Literal["revenue", "orders", "active_users", "conversion"]
METRICS = ("revenue", "orders", "active_users", "conversion")


def trends(tables: Tables, metric: str = "revenue", interval: str = "day") -> dict[str, Any]:
    if metric not in METRICS:
        raise AnalyticsError(
            f"Unknown metric '{metric}'.", hint=f"Use one of {', '.join(METRICS)}."
        )
    if interval not in ("day", "week"):
        raise AnalyticsError(f"Unknown interval '{interval}'.", hint="Use day or week.")
    events = tables.events()
    t = events.mutate(period=events.ts.truncate("D" if interval == "day" else "W").date())
    buy = t.event_type == "purchase"
    amount = ibis.coalesce(t.quantity, 1) * t.price
    if metric == "revenue":
        agg = t.group_by("period").aggregate(value=ibis.ifelse(buy, amount, 0).sum())
    elif metric == "orders":
        order_key = ibis.coalesce(t.order_id, t.event_id)
        agg = t.group_by("period").aggregate(value=ibis.ifelse(buy, order_key, None).nunique())
    elif metric == "active_users":
        agg = t.group_by("period").aggregate(value=t.user_id.nunique())
    else:
        agg = t.group_by("period").aggregate(
            buyers=ibis.ifelse(buy, t.user_id, None).nunique(), active=t.user_id.nunique()
        )
        agg = agg.select("period", value=agg.buyers / ibis.greatest(agg.active, 1))
    frame = agg.order_by("period").execute()
    return {
        "metric": metric,
        "interval": interval,
        "points": [
            {"period": str(p)[:10], "value": None if v != v else float(v)}
            for p, v in zip(frame["period"], frame["value"], strict=True)
        ],
    }
