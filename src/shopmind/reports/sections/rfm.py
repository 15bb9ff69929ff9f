"""RFM segments with a suggested action per segment."""

from __future__ import annotations

import html

from shopmind.features.tables import Tables
from shopmind.reports import charts
from shopmind.reports.fragments import chart, note, table

TITLE = "Customer segments (RFM)"
ANCHOR = "rfm"
SEGMENT_ACTIONS = {
    "Champions": "reward them; early access, referrals",
    "Loyal": "upsell higher-value products, ask for reviews",
    "Potential loyalists": "membership or loyalty offers",
    "New": "onboarding, a good first experience",
    "Promising": "brand awareness, free trials",
    "Need attention": "limited-time offers based on past purchases",
    "About to sleep": "reconnect with popular products, discounts",
    "Can't lose": "win them back with renewals, talk to them",
    "At risk": "personal e-mails, special offers",
    "Hibernating": "relevant products and special discounts",
    "Lost": "revive interest with a campaign or ignore",
}


def build(tables: Tables) -> str:
    from shopmind.analytics.metrics import currency
    from shopmind.analytics.rfm import rfm

    result = rfm(tables)
    segs = result["segments"]
    champions = next((s for s in segs if s["name"] == "Champions"), None)
    lead = ""
    if champions:
        lead = (
            f"<p class='lead'>{champions['customers']:,} Champions "
            f"({100 * champions['share']:.1f}% of {result['customers']:,} customers) buy often, "
            f"recently and spend most.</p>"
        )
    figure = chart(
        charts.bar_chart([s["name"] for s in segs], [s["customers"] for s in segs], "customers"),
        "rfm",
    )
    segments_table = table(
        [
            "segment",
            "customers",
            "mean recency (days)",
            "mean orders",
            f"mean spend ({currency(tables) or 'currency unknown'})",
            "suggested action",
        ],
        [
            [
                s["name"],
                f"{s['customers']:,}",
                f"{s['mean_recency_days']:,.0f}",
                f"{s['mean_frequency']:,.1f}",
                "–" if s["mean_monetary"] is None else f"{s['mean_monetary']:,.2f}",
                SEGMENT_ACTIONS.get(s["name"], ""),
            ]
            for s in segs
        ],
    )
    caveat = note(html.escape(f"Note: {result['note']}.")) if result.get("note") else ""
    return lead + caveat + figure + segments_table
