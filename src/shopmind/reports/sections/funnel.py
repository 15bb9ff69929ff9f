"""Conversion funnel view -> cart -> purchase (the steps the log has), within a day."""

from __future__ import annotations

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart, duration, table

TITLE = "Conversion funnel"
ANCHOR = "funnel"
NOTE = "Not enough event types for a funnel (needs two of view, cart, purchase)."


def build(tables: Tables) -> str | None:
    from shopmind.analytics.funnel import FunnelQuery, funnel

    present = tables.event_types()
    steps = tuple(s for s in ("view", "cart", "purchase") if s in present)
    if len(steps) < 2:
        return None
    result = funnel(tables, FunnelQuery(steps, 86_400))
    rows = result["steps"]
    first, last = rows[0], rows[-1]
    sentence = (
        f"<p class='lead'>Of {first['users']:,} users who did <b>{steps[0]}</b>, "
        f"{100 * (last['conversion_from_first'] or 0):.1f}% reached <b>{steps[-1]}</b> "
        f"within a day of it.</p>"
    )
    figure = chart(
        charts.funnel_chart([r["name"] for r in rows], [r["users"] for r in rows]), "funnel"
    )
    steps_table = table(
        ["step", "users", "from previous", "median time from previous"],
        [
            [
                r["name"],
                f"{r['users']:,}",
                f"{100 * (r['conversion_from_previous'] or 0):.1f}%",
                duration(r["median_seconds_from_previous"]),
            ]
            for r in rows
        ],
    )
    return sentence + figure + steps_table
