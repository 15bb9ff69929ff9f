"""Behavioural segments (k-means on behaviour, k by the silhouette score)."""

from __future__ import annotations

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart, table

TITLE = "Behavioural segments"
ANCHOR = "segments"


def build(tables: Tables) -> str:
    from shopmind.analytics.segments import segment_users

    result = segment_users(tables)
    segs = result["segments"]
    figure = chart(
        charts.bar_chart(
            [f"segment {s['segment']}" for s in segs], [s["users"] for s in segs], "users"
        ),
        "segments",
    )
    lead = (
        f"<p class='lead'>{result['k']} behavioural segments (k chosen by the silhouette "
        f"score).</p>"
    )
    segments_table = table(
        ["segment", "users", "share", "what sets it apart"],
        [
            [s["segment"], f"{s['users']:,}", f"{100 * s['share']:.1f}%", s["description"]]
            for s in segs
        ],
    )
    return lead + figure + segments_table
