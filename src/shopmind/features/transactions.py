"""Customer transactions, the input of the CLV models (``shopmind clv fit``)."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from shopmind.store import Workspace

#: Orders that are purchases (SQL): refund rows and negative amounts are not. Risk features
#: and the live risk scorer use the same rule (``purchase_orders``).
PURCHASE_ORDER_SQL = "coalesce(status, '') <> 'refund' AND coalesce(amount, 0) >= 0"
#: Order statuses that mean no sale happened (no money changed hands): such an order is no
#: purchase in the business figures (docs/metrics.md) nor in CLV (Olist ``canceled``).
NOT_SOLD_STATUSES = ("canceled", "cancelled", "unavailable", "voided", "void", "failed", "declined")
_SOLD_SQL = (
    "lower(coalesce(status, '')) NOT IN ("
    + ", ".join(f"'{status}'" for status in NOT_SOLD_STATUSES)
    + ")"
)
#: Completed orders of known customers.
_ORDERS = (
    "SELECT user_id AS customer_id, ts AS date, amount FROM orders "
    f"WHERE user_id IS NOT NULL AND {PURCHASE_ORDER_SQL} AND {_SOLD_SQL}"
)


def purchase_orders(orders: Any) -> Any:
    """The rows of an Ibis ``orders`` table that are purchases (``PURCHASE_ORDER_SQL``)."""
    import ibis

    return orders.filter(
        (ibis.coalesce(orders.status, "") != "refund") & (ibis.coalesce(orders.amount, 0) >= 0)
    )


#: Without orders: purchase events, amount = quantity (default 1) x price (default 0).
_PURCHASES = (
    "SELECT user_id AS customer_id, ts AS date, "
    "coalesce(quantity, 1) * coalesce(price, 0) AS amount FROM events "
    "WHERE event_type = 'purchase' AND user_id IS NOT NULL"
)


def clv_transactions(source: Workspace | duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``(customer_id, date, amount)`` from ``orders`` (non-refund, sold, amount >= 0), or from
    purchase events when the workspace has no such order."""
    if isinstance(source, Workspace):
        with source.connect(read_only=True) as con:
            return clv_transactions(con)
    frame = source.execute(_ORDERS).df()
    return source.execute(_PURCHASES).df() if frame.empty else frame
