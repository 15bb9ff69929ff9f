"""Uplift and the campaign plan: the plan saved by ``shopmind campaign plan``; without one, a
plan whose assumptions (budget, cost, value) the page states."""

from __future__ import annotations

import html

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart
from shopmind.store import Workspace

TITLE = "Uplift and campaign plan"
ANCHOR = "uplift"
NOTE = "No randomised campaign in the workspace to learn uplift from."


def build(tables: Tables, workspace: Workspace) -> str | None:
    from shopmind.analytics.metrics import currency
    from shopmind.marketing.plans import ASSUMPTION, shown_plan

    assignments = tables.backend.table("campaign_assignments")
    if int(assignments.count().execute()) == 0:
        return None
    cur = currency(tables) or "(currency unknown)"
    summary, saved = shown_plan(tables, workspace)
    if saved:
        origin = (
            f"The plan made with <code>shopmind campaign plan</code> on "
            f"{html.escape(str(summary.get('scored_at', ''))[:16])}"
        )
    else:
        origin = (
            "No plan made yet (<code>shopmind campaign plan --budget B --cost C --value V</code>"
            f"); assumed here: {ASSUMPTION}"
        )
    check = summary["held_out_check"]
    conv = summary["expected_incremental_conversions"]
    lead = (
        f"<p class='lead'>Learned from campaign <b>{html.escape(summary['campaign_learned_from'])}"
        f"</b>: on held-out customers the top {100 * check.get('share', 0):.0f}% by predicted "
        f"uplift converted {100 * check['uplift']:.1f} points more when contacted (Qini "
        f"coefficient {check['qini_coefficient']:.3f}).</p>"
        f"<p>{origin}: budget {summary['budget']:,.2f} {cur}, {summary['cost']:,.2f} {cur} per "
        f"contact, {summary['value']:,.2f} {cur} per conversion. Contacting "
        f"{summary['audience']:,} users should bring about {conv['estimate']:,.0f} extra "
        f"conversions (95% {conv['low']:,.0f} .. {conv['high']:,.0f})"
        f"{_profit(summary, cur)}.</p>"
    )
    figure = chart(charts.qini_chart(check["qini_curve"]["x"], check["qini_curve"]["y"]), "qini")
    return lead + figure


def _profit(summary: dict, cur: str) -> str:
    """Expected incremental profit and where the value per conversion came from (if said)."""
    profit = summary.get("expected_incremental_profit")
    if not profit:
        return ""
    origin = (summary.get("assumptions") or {}).get("value", "given")
    said = "" if origin == "given" else f"; value per conversion = {html.escape(origin)}"
    return (
        f" and an incremental profit of {profit['estimate']:,.0f} {cur} (95% "
        f"{profit['low']:,.0f} .. {profit['high']:,.0f}){said}"
    )
