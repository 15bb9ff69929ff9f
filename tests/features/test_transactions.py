"""CLV transactions: completed orders, else purchase events (worked out by hand)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopmind.features.transactions import clv_transactions
from tests.analytics.small_retail import small_retail


def _rows(frame: pd.DataFrame) -> list[tuple[str, str, float]]:
    columns = (frame["customer_id"], frame["date"], frame["amount"])
    return sorted(
        (str(c), d.strftime("%Y-%m-%d"), float(a)) for c, d, a in zip(*columns, strict=True)
    )


def test_orders_without_refunds_or_anonymous_orders(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    with ws.connect(read_only=True) as con:
        from_con = clv_transactions(con)
    expected = [("1", "2024-01-02", 13.0), ("1", "2024-01-09", 5.0), ("2", "2024-01-03", 20.0)]
    assert _rows(clv_transactions(ws)) == expected == _rows(from_con)
    assert list(from_con.columns) == ["customer_id", "date", "amount"]


def test_purchase_events_when_there_are_no_orders(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    with ws.connect() as con:
        con.execute("DELETE FROM orders")
    # one row per purchased line: quantity x price; the refund event is not a purchase
    assert _rows(clv_transactions(ws)) == [
        ("1", "2024-01-02", 3.0),
        ("1", "2024-01-02", 10.0),
        ("1", "2024-01-09", 5.0),
        ("2", "2024-01-03", 20.0),
    ]


def test_orders_marked_unsold_are_no_transactions(tmp_path: Path) -> None:
    """An order the shop marks canceled (Olist) is no purchase for CLV either."""
    ws = small_retail(tmp_path)
    with ws.connect() as con:
        order = con.execute(
            "SELECT order_id FROM orders WHERE user_id = '2' AND status <> 'refund'"
        ).fetchone()[0]
        con.execute("UPDATE orders SET status = 'Canceled' WHERE order_id = ?", [order])
    assert _rows(clv_transactions(ws)) == [("1", "2024-01-02", 13.0), ("1", "2024-01-09", 5.0)]
