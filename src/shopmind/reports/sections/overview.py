"""Overview: the documented business figures (docs/metrics.md) and events per type."""

from __future__ import annotations

from shopmind.features.tables import Tables
from shopmind.reports.fragments import money, table

TITLE = "Overview"
ANCHOR = "overview"


def build(tables: Tables) -> str:
    from shopmind.analytics.metrics import summary

    e = tables.events()
    facts = summary(tables)
    types = e.group_by("event_type").aggregate(n=e.count()).execute()
    cur = facts["currency"]
    revenue = (
        f"net revenue <b>{money(facts['net_revenue'], cur)}</b> after "
        f"{money(facts['refunds'], cur)} of refunds, average order value "
        f"{money(facts['aov'], cur)}"
        if not facts.get("prices")
        else f"revenue unknown ({facts['prices']})"
    )
    text = (
        f"<p class='lead'>{facts['active_users']:,} known users generated events between "
        f"{(facts['first'] or '')[:10]} and {(facts['last'] or '')[:10]}. "
        f"{facts['customers']:,} customers placed {facts['orders']:,} orders "
        + (
            f"(with {facts['guest_orders']:,} order{'s' if facts['guest_orders'] != 1 else ''} "
            "of guests without an account; "
            if facts.get("guest_orders")
            else "("
        )
        + f"{facts['order_lines']:,} order lines): {revenue}.</p>"
    )
    text += table(
        ["metric", "value"],
        [
            ["orders", f"{facts['orders']:,}"],
            ["order lines", f"{facts['order_lines']:,}"],
            ["customers", f"{facts['customers']:,}"],
            ["guest orders (no customer id)", f"{facts.get('guest_orders', 0):,}"],
            ["gross revenue", money(facts["gross_revenue"], cur)],
            ["refunds", money(facts["refunds"], cur)],
            ["net revenue", money(facts["net_revenue"], cur)],
            ["average order value", money(facts["aov"], cur)],
        ],
    )
    text += (
        "<p class='note'>Definitions: docs/metrics.md (orders are distinct order ids of "
        "purchases; refund invoices are not orders).</p>"
    )
    text += table(
        ["event type", "events"],
        [[r.event_type, f"{int(r.n):,}"] for r in types.sort_values("n").itertuples()][::-1],
    )
    return text
