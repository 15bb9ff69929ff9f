"""Cohort retention: the period follows the data's span (day, week or month)."""

from __future__ import annotations

import html

import numpy as np

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart

TITLE = "Retention"
ANCHOR = "retention"
NOTE = "No cohorts."
MAX_COHORTS = 24


def build(tables: Tables) -> str | None:
    from shopmind.analytics.retention import retention

    e = tables.events()
    span_days = (e.ts.max().epoch_seconds() - e.ts.min().epoch_seconds()).execute() / 86_400
    period = "month" if span_days > 180 else "week" if span_days > 21 else "day"
    start = "purchase" if "purchase" in tables.event_types() else "view"
    result = retention(tables, start, start, period, periods=8)  # type: ignore[arg-type]
    cohorts = result["cohorts"]
    if not cohorts:
        return None
    shown = cohorts[-MAX_COHORTS:]
    values = np.array(
        [[np.nan if r is None else r for r in c["rates"][1:]] for c in shown], dtype=float
    )
    # the share of users (cohorts weighted by size) over the cells that can be read whole:
    # a cell of the partial last period is lower than it will be, and is left out
    whole = [
        c
        for c in cohorts
        if len(c["rates"]) > 1 and c["rates"][1] is not None and c.get("partial_offset") != 1
    ]
    sizes = np.array([c["size"] for c in whole], dtype=float)
    mean_first = (
        float(np.dot(sizes, [c["rates"][1] for c in whole]) / sizes.sum())
        if sizes.sum()
        else float("nan")
    )
    sentence = (
        f"<p class='lead'>{100 * mean_first:.1f}% of users who did <b>{start}</b> did it again "
        f"in the next {period} ({len(whole)} cohorts whose next {period} is complete, weighted "
        "by size).</p>"
        if whole and sizes.sum()
        else f"<p class='lead'>No cohort's next {period} is complete yet.</p>"
    )
    notes = ["Blank cells cannot be observed yet (their period starts after the data ends)."]
    if result["last_period_partial"]:
        notes.append(
            f"The {period} of {result['last_period']} is partial: the data ends in it, so its "
            "cells are lower than they will be."
        )
    if len(shown) < len(cohorts):
        notes.append(f"Showing the latest {len(shown)} of {len(cohorts)} cohorts.")
    else:
        notes.append(f"All {len(cohorts)} cohorts shown.")
    sentence += f"<p class='note'>{html.escape(' '.join(notes))}</p>"
    figure = chart(
        charts.heatmap([c["cohort"] for c in shown], values, f"{period}s after the first {start}"),
        "retention",
    )
    return sentence + figure
