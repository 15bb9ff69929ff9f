"""Trends: one business metric per day, week or month (definitions in analytics/metrics.py).

``revenue`` is net revenue (refunds netted, by order date unless ``refunds_by="refund"``).
Each point says whether its period is partial; ``best`` is the best complete period.
"""

from __future__ import annotations

from typing import Any

from shopmind.analytics.metrics import (
    INTERVALS,
    MONEY,
    PERIOD_METRICS,
    best_period,
    metrics_by_period,
)
from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables

ALIASES = {"revenue": "net_revenue", "active_customers": "customers"}
METRICS = ("revenue", *PERIOD_METRICS, "active_customers")


def trends(
    tables: Tables, metric: str = "revenue", interval: str = "day", refunds_by: str = "order"
) -> dict[str, Any]:
    """Points ``{period, end, partial, value}`` in time order, the best complete one, currency."""
    if metric not in METRICS:
        raise AnalyticsError(
            f"Unknown metric '{metric}'.", hint=f"Use one of {', '.join(METRICS)}."
        )
    if interval not in INTERVALS:
        raise AnalyticsError(
            f"Unknown interval '{interval}'.", hint=f"Use one of {', '.join(INTERVALS)}."
        )
    name = ALIASES.get(metric, metric)
    result = metrics_by_period(tables, interval, refunds_by)  # type: ignore[arg-type]
    points = [
        {"period": p["period"], "end": p["end"], "partial": p["partial"], "value": p[name]}
        for p in result["points"]
    ]
    best = best_period(points, "value")
    extra: dict[str, Any] = {}
    if name in ("new_customers", "returning_customers") and points:
        # left-censored: the data holds nothing before its first period, so every customer
        # there is "new" (Online Retail's December 2010: 885)
        extra["note"] = (
            f"the first {interval} ({points[0]['period']}) counts every customer as new: the "
            "data holds no earlier purchases"
        )
    return {
        "metric": metric,
        "measure": name,
        "interval": interval,
        "refunds_by": refunds_by if name in ("net_revenue", "refunds", "aov") else None,
        "currency": result["currency"] if name in MONEY else None,
        "points": points,
        "best": best,
        "partial_periods": [p["period"] for p in points if p["partial"]],
        **extra,
    }
