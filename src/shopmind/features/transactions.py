"""Customer transactions, the input of the CLV models (``shopmind clv fit``)."""

from __future__ import annotations

import duckdb
import pandas as pd

from shopmind.store import Workspace

#: Completed orders: refunds and negative amounts are not purchases.
_ORDERS = (
    "SELECT user_id AS customer_id, ts AS date, amount FROM orders "
    "WHERE user_id IS NOT NULL AND status <> 'refund' AND amount >= 0"
)
#: Without orders: purchase events, amount = quantity (default 1) x price (default 0).
_PURCHASES = (
    "SELECT user_id AS customer_id, ts AS date, "
    "coalesce(quantity, 1) * coalesce(price, 0) AS amount FROM events "
    "WHERE event_type = 'purchase' AND user_id IS NOT NULL"
)


def clv_transactions(source: Workspace | duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``(customer_id, date, amount)`` from ``orders`` (non-refund, amount >= 0), or from
    purchase events when the workspace has no such order."""
    if isinstance(source, Workspace):
        with source.connect(read_only=True) as con:
            return clv_transactions(con)
    frame = source.execute(_ORDERS).df()
    return source.execute(_PURCHASES).df() if frame.empty else frame
