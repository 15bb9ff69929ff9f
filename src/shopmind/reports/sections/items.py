"""Best-selling products by order lines; non-product lines (item_eligibility) left out."""

from __future__ import annotations

import ibis

from shopmind.features.tables import Tables
from shopmind.reports import fragments
from shopmind.reports.fragments import table

TITLE = "Best-selling items"
ANCHOR = "items"
NOTE = "No purchases yet."


def build(tables: Tables) -> str | None:
    from shopmind.features.eligibility import excluded_items

    e = tables.events()
    items = tables["items"]
    purchases = e.filter(e.event_type == "purchase")
    bought = purchases.filter(purchases.item_id.notnull())
    note = ""
    con = getattr(tables.backend, "con", None)
    excluded = sorted(excluded_items(con)) if con is not None else []
    if excluded:
        bought = bought.filter(~bought.item_id.isin(excluded))
        note = (
            f"<p class='note'>{len(excluded)} non-product lines (postage, fees, adjustments, "
            "vouchers: <code>shopmind items list</code>) are not counted.</p>"
        )
    top = bought.group_by("item_id").aggregate(
        units=ibis.coalesce(bought.quantity, 1).sum(), orders=bought.count()
    )
    joined = top.left_join(items, top.item_id == items.item_id)
    frame = (
        joined.select("item_id", "units", "orders", "title", "title_zh", "category")
        .order_by([ibis.desc("orders"), "item_id"])
        .limit(10)
        .execute()
    )
    if frame.empty:
        if purchases.count().execute():  # CDNOW: purchases with amounts, no products named
            return fragments.note("The purchases name no items, so there are no best-sellers.")
        return None
    # text columns the catalogue fills (an English shop has no Chinese titles, Online Retail
    # no categories): empty ones are left out
    texts = [
        (column, header)
        for column, header in (
            ("title", "title"),
            ("title_zh", "标题 (title in Chinese)"),
            ("category", "category"),
        )
        if frame[column].fillna("").astype(str).str.strip().ne("").any()
    ]
    return note + table(
        ["item", "units", "order lines", *(header for _, header in texts)],
        [
            [r["item_id"], f"{r['units']:,.0f}", f"{int(r['orders']):,}"]
            + [r[column] for column, _ in texts]
            for _, r in frame.iterrows()
        ],
    )
