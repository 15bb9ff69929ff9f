"""Weekly (daily when no week is whole) net revenue, or active users, saying so, when the
log has no prices."""

from __future__ import annotations

import html

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart

TITLE = "Trends"
ANCHOR = "trends"


def build(tables: Tables) -> str:
    from shopmind.analytics.trends import trends

    # weeks, unless no week is whole (the Taobao head: 9 days, two partial weeks): days
    interval = "week"
    result = trends(tables, "revenue", interval)
    if all(p["partial"] for p in result["points"]):
        interval = "day"
        result = trends(tables, "revenue", interval)
    points = result["points"]
    why = ""
    if not any(p["value"] for p in points):
        result = trends(tables, "active_users", interval)
        points = result["points"]
        why = (
            "<p class='note'>No purchase carries a price, so revenue is unknown: showing "
            f"active users per {interval} instead.</p>"
        )
    label = "net revenue" if result["metric"] == "revenue" else result["metric"].replace("_", " ")
    unit = (
        f" {result['currency'] or '(currency unknown)'}"
        if result["currency"] or (result["metric"] == "revenue")
        else ""
    )
    values = [p["value"] or 0.0 for p in points]
    best = result["best"]
    sentence = ""
    adjective = "Weekly" if interval == "week" else "Daily"
    complete = [p["value"] for p in points if not p["partial"] and p["value"] is not None]
    if best:
        sentence = (
            f"<p class='lead'>{adjective} {label}: the best complete {interval} started "
            f"{best['period']} ({best['value']:,.0f}{unit}).</p>"
        )
    elif complete:  # flat: every complete period the same (metrics.best_period names none)
        sentence = (
            f"<p class='lead'>{adjective} {label}: {complete[0]:,.0f}{unit} in every complete "
            f"{interval}, no best one.</p>"
        )
    sentence += why
    partial = result["partial_periods"]
    if partial:
        sentence += (
            f"<p class='note'>Partial {interval}s (the data starts or ends inside them, never "
            f"ranked best): {html.escape(', '.join(partial))}."
            + (
                f" Refunds are netted in the {interval} of the refunded order."
                if label == "net revenue"
                else ""
            )
            + "</p>"
        )
    return sentence + chart(
        charts.line_chart([p["period"] for p in points], values, label), "trends"
    )
