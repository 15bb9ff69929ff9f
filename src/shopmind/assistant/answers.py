"""Answers read from the workspace for one identified customer, and only for that customer.

Every query here takes the conversation's ``user_id`` and filters on it in SQL
(``WHERE user_id = ?``): an order id that belongs to someone else is answered exactly like an
order id that does not exist ("not found on your account"), so the assistant neither shows
nor confirms other customers' orders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from shopmind.features.tables import reporting_timezone
from shopmind.store import Workspace


@dataclass(frozen=True)
class Order:
    order_id: str
    ts: dt.datetime
    amount: float | None
    status: str
    currency: str | None
    items: int
    refunded: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "ts": self.ts.isoformat() if self.ts else None,
            "amount": self.amount,
            "status": self.status,
            "currency": self.currency,
            "items": self.items,
            "refunded": self.refunded,
        }


_ORDER_SQL = """
SELECT o.order_id, o.ts, o.amount, o.status, o.currency,
       (SELECT count(*) FROM order_items i WHERE i.order_id = o.order_id) AS lines,
       (SELECT coalesce(sum(coalesce(e.quantity, 1) * coalesce(e.price, 0)), 0)
          FROM events e
         WHERE e.event_type = 'refund' AND e.order_id = o.order_id AND e.user_id = o.user_id)
         AS refunded
FROM orders o
WHERE o.user_id = ? {where}
ORDER BY o.ts DESC
LIMIT ?
"""


def _orders(
    con: duckdb.DuckDBPyConnection, user_id: str, where: str, params: list[Any], limit: int
) -> list[Order]:
    rows = con.execute(_ORDER_SQL.format(where=where), [user_id, *params, limit]).fetchall()
    return [
        Order(
            str(r[0]),
            r[1],
            None if r[2] is None else float(r[2]),
            str(r[3]),
            r[4],
            int(r[5] or 0),
            float(r[6] or 0.0),
        )
        for r in rows
    ]


def customer_order(con: duckdb.DuckDBPyConnection, user_id: str, order_id: str) -> Order | None:
    """The order when it belongs to ``user_id``; None otherwise (also when it belongs to
    another customer: callers cannot tell the two apart)."""
    # shops write "#1061" (Shopify) or "1061"; customers write either
    bare = order_id.removeprefix("#")
    found = _orders(con, user_id, "AND o.order_id IN (?, ?)", [bare, "#" + bare], 1)
    return found[0] if found else None


def last_orders(con: duckdb.DuckDBPyConnection, user_id: str, limit: int = 3) -> list[Order]:
    return _orders(con, user_id, "", [], limit)


def orders_on(
    con: duckdb.DuckDBPyConnection, user_id: str, day: dt.date, limit: int = 3
) -> list[Order]:
    """The customer's orders placed on ``day`` of the reporting time zone (``SHOPMIND_TIMEZONE``,
    else UTC: "I ordered on March 3" means the shop's March 3)."""
    zone = reporting_timezone()
    return _orders(con, user_id, "AND CAST(timezone(?, o.ts) AS DATE) = ?", [zone, day], limit)


def known_customer(con: duckdb.DuckDBPyConnection, user_id: str) -> bool:
    row = con.execute(
        "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = ?) "
        "OR EXISTS (SELECT 1 FROM orders WHERE user_id = ?)",
        [user_id, user_id],
    ).fetchone()
    return bool(row and row[0])


def high_value_threshold(con: duckdb.DuckDBPyConnection, share: float) -> float | None:
    """Total spend from which a customer is among the top ``share`` of buyers."""
    row = con.execute(
        "SELECT quantile_cont(total, ?) FROM "
        "(SELECT sum(amount) AS total FROM orders WHERE user_id IS NOT NULL "
        " AND amount IS NOT NULL GROUP BY user_id)",
        [1.0 - share],
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def customer_spend(con: duckdb.DuckDBPyConnection, user_id: str) -> float:
    row = con.execute(
        "SELECT coalesce(sum(amount), 0) FROM orders WHERE user_id = ?", [user_id]
    ).fetchone()
    return float(row[0]) if row else 0.0


def item_titles(con: duckdb.DuckDBPyConnection, limit: int = 50_000) -> list[tuple[str, str]]:
    """(item_id, title) pairs for product mentions: English and Chinese titles."""
    rows = con.execute("SELECT item_id, title, title_zh FROM items LIMIT ?", [limit]).fetchall()
    out: list[tuple[str, str]] = []
    for item_id, title, title_zh in rows:
        for value in (title, title_zh):
            if value:
                out.append((str(item_id), str(value)))
    return out


def titles_of(con: duckdb.DuckDBPyConnection, item_ids: list[str], zh: bool) -> dict[str, str]:
    if not item_ids:
        return {}
    rows = con.execute(
        "SELECT item_id, title, title_zh FROM items WHERE item_id IN "
        f"({', '.join('?' for _ in item_ids)})",
        item_ids,
    ).fetchall()
    return {str(r[0]): str((r[2] if zh and r[2] else r[1]) or r[0]) for r in rows}


def popular_items(con: duckdb.DuckDBPyConnection, k: int) -> list[str]:
    rows = con.execute(
        "SELECT item_id FROM events WHERE event_type = 'purchase' AND item_id IS NOT NULL "
        "GROUP BY item_id ORDER BY count(*) DESC, item_id LIMIT ?",
        [k],
    ).fetchall()
    return [str(r[0]) for r in rows]


class Recommendations:
    """ "You may also like" from the workspace's saved default recommender (loaded once),
    or the best sellers when none is trained or the customer is unknown to it."""

    def __init__(self, workspace: Workspace | None) -> None:
        self.workspace = workspace
        self._model: Any = None
        self._tried = False

    def model(self, con: duckdb.DuckDBPyConnection | None = None) -> Any:
        if not self._tried and self.workspace is not None:
            self._tried = True
            try:
                from shopmind.models.recommend.workflow import load_model

                self._model = load_model(self.workspace, None, con=con)
            except Exception:  # no recommender trained (or an old file): best sellers instead
                self._model = None
        return self._model

    def for_user(
        self, con: duckdb.DuckDBPyConnection, user_id: str, k: int = 3
    ) -> tuple[list[str], str]:
        model = self.model(con)  # histories through the assistant's own connection
        if model is not None and user_id in getattr(model, "key_index_", {}):
            try:
                items = [str(i) for i, _ in model.recommend([user_id], k)[0]]
                if items:
                    return items, model.name
            except Exception:
                pass
        return popular_items(con, k), "best sellers"
