"""Weekly net revenue (or active users when the log has no revenue)."""

from __future__ import annotations

import html

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart

TITLE = "Trends"
ANCHOR = "trends"


def build(tables: Tables) -> str:
    from shopmind.analytics.trends import trends

    result = trends(tables, "revenue", "week")
    points = result["points"]
    if not any(p["value"] for p in points):
        result = trends(tables, "active_users", "week")
        points = result["points"]
    label = "net revenue" if result["metric"] == "revenue" else result["metric"].replace("_", " ")
    unit = (
        f" {result['currency'] or '(currency unknown)'}"
        if result["currency"] or (result["metric"] == "revenue")
        else ""
    )
    values = [p["value"] or 0.0 for p in points]
    best = result["best"]
    sentence = ""
    if best:
        sentence = (
            f"<p class='lead'>Weekly {label}: the best complete week started {best['period']} "
            f"({best['value']:,.0f}{unit}).</p>"
        )
    partial = result["partial_periods"]
    if partial:
        sentence += (
            f"<p class='note'>Partial weeks (the data starts or ends inside them, never ranked "
            f"best): {html.escape(', '.join(partial))}."
            + (
                " Refunds are netted in the week of the refunded order."
                if label == "net revenue"
                else ""
            )
            + "</p>"
        )
    return sentence + chart(
        charts.line_chart([p["period"] for p in points], values, label), "trends"
    )
