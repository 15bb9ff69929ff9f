"""Loading event rows and what they imply: new users, items, orders and order lines.

Event formats stage the canonical event columns; optional staged columns feed dimensions:
``item_title, item_title_zh, item_category, item_brand, item_price`` (items),
``user_country`` (users), ``line_amount`` (order line amount when not quantity x price).
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import quote_literal
from shopmind.ingest.sqlparts import entities_decoded

EVENT_COLUMNS = (
    "event_id",
    "user_id",
    "session_id",
    "item_id",
    "event_type",
    "ts",
    "quantity",
    "price",
    "order_id",
    "query",
    "source",
    "rating",
)


def staged_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _optional(columns: set[str], name: str, cast: str = "VARCHAR") -> str:
    return name if name in columns else f"NULL::{cast}"


def _latest(expression: str) -> str:
    """The value at the latest event where it is known (an aggregate)."""
    return f"arg_max({expression}, ts) FILTER ({expression} IS NOT NULL)"


def insert_events(con: duckdb.DuckDBPyConnection, ctx: Context, table: str = "_fresh") -> int:
    """Append the staged events; returns the number of events written."""
    columns = staged_columns(con, table)
    select = ", ".join(c if c in columns else f"NULL AS {c}" for c in EVENT_COLUMNS)
    inserted = con.execute(
        f"INSERT INTO events SELECT {select}, '{ctx.ingestion_id}' FROM {table}"
    ).fetchone()  # DuckDB answers an INSERT with the number of rows it wrote
    return int(inserted[0]) if inserted else 0


def add_users_from_events(
    con: duckdb.DuckDBPyConnection, ctx: Context, table: str = "_fresh"
) -> int:
    """Users first seen in these events (signup time unknown); returns users added."""
    columns = staged_columns(con, table)
    before = _count(con, "SELECT count(*) FROM users")
    if table == "_fresh" and ctx.fresh_user_ids and "user_country" not in columns:
        # the pseudonyms already computed once per distinct id are these events' users
        con.execute(
            f"""
            INSERT INTO users (user_id, signup_ts, country, gender, age, attributes, ingestion_id)
            SELECT DISTINCT pseudo, NULL, NULL, NULL, NULL, NULL, '{ctx.ingestion_id}'
            FROM {ctx.fresh_user_ids} f
            WHERE pseudo IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = f.pseudo)
            """
        )
        return _count(con, "SELECT count(*) FROM users") - before
    country = _optional(columns, "user_country")
    con.execute(
        f"""
        INSERT INTO users (user_id, signup_ts, country, gender, age, attributes, ingestion_id)
        SELECT user_id, NULL, {_latest(country)}, NULL, NULL, NULL, '{ctx.ingestion_id}'
        FROM {table} f
        WHERE user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = f.user_id)
        GROUP BY user_id
        """
    )
    return _count(con, "SELECT count(*) FROM users") - before


def merge_items_from_events(
    con: duckdb.DuckDBPyConnection, ctx: Context, table: str = "_fresh"
) -> int:
    """Items seen in these events, merged with stored ones: the latest non-NULL value of each
    attribute in this load wins; NULL keeps the stored value."""
    columns = staged_columns(con, table)
    title = _optional(columns, "item_title")
    title_zh = _optional(columns, "item_title_zh")
    category = _optional(columns, "item_category")
    brand = _optional(columns, "item_brand")
    price = _optional(columns, "item_price", "DOUBLE")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _items_new AS
        SELECT CAST(item_id AS VARCHAR) AS item_id, {entities_decoded(_latest(title))} AS title,
               {entities_decoded(_latest(title_zh))} AS title_zh,
               {_latest(category)} AS category, {_latest(brand)} AS brand,
               {_latest(price)} AS price
        FROM {table} WHERE item_id IS NOT NULL GROUP BY 1
        """
    )
    added = _count(
        con,
        "SELECT count(*) FROM _items_new n WHERE NOT EXISTS "
        "(SELECT 1 FROM items i WHERE i.item_id = n.item_id)",
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _items_merged AS
        SELECT n.item_id, coalesce(n.title, o.title) AS title,
               coalesce(n.title_zh, o.title_zh) AS title_zh, o.description,
               coalesce(n.category, o.category) AS category, coalesce(n.brand, o.brand) AS brand,
               coalesce(n.price, o.price) AS price, o.in_stock, o.attributes,
               coalesce(o.ingestion_id, '{ctx.ingestion_id}') AS ingestion_id
        FROM _items_new n LEFT JOIN items o USING (item_id)
        """
    )
    con.execute("DELETE FROM items WHERE item_id IN (SELECT item_id FROM _items_new)")
    con.execute("INSERT INTO items SELECT * FROM _items_merged")
    con.execute("DROP TABLE _items_new; DROP TABLE _items_merged")
    return added


def add_orders_from_purchases(
    con: duckdb.DuckDBPyConnection, ctx: Context, table: str = "_fresh"
) -> tuple[int, int]:
    """Order lines from purchase events with an order id, and the orders they make up.

    Returns (orders added, lines added). An order that gains lines has its amount updated.
    """
    columns = staged_columns(con, table)
    if "order_id" not in columns:
        return 0, 0
    amount = "line_amount" if "line_amount" in columns else "quantity * price"
    source = _optional(columns, "source")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lines AS
        SELECT order_id, event_id AS line_id, item_id, quantity, price AS unit_price,
               {amount} AS amount, user_id, ts, {source} AS source
        FROM {table} WHERE event_type = 'purchase' AND order_id IS NOT NULL
        """
    )
    lines = _count(con, "SELECT count(*) FROM _lines")
    con.execute(
        f"INSERT INTO order_items SELECT order_id, line_id, item_id, quantity, unit_price, amount, "
        f"'{ctx.ingestion_id}' FROM _lines"
    )
    before = _count(con, "SELECT count(*) FROM orders")
    currency = quote_literal(ctx.currency) if ctx.currency else "NULL"
    con.execute(
        """
        UPDATE orders SET amount = coalesce(orders.amount, 0) + n.amount
        FROM (SELECT order_id, sum(amount) AS amount FROM _lines GROUP BY order_id) n
        WHERE orders.order_id = n.order_id
        """
    )
    con.execute(
        f"""
        INSERT INTO orders
        SELECT order_id, any_value(user_id), min(ts), sum(amount), 'completed', {currency}, NULL,
               any_value(source), NULL, '{ctx.ingestion_id}'
        FROM _lines l
        WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = l.order_id)
        GROUP BY order_id
        """
    )
    con.execute("DROP TABLE _lines")
    return _count(con, "SELECT count(*) FROM orders") - before, lines


def load_event_tables(
    con: duckdb.DuckDBPyConnection, ctx: Context, table: str = "_fresh"
) -> dict[str, int]:
    """Events plus the users, items, orders and order lines they imply."""
    events = insert_events(con, ctx, table)
    users = add_users_from_events(con, ctx, table)
    items = merge_items_from_events(con, ctx, table)
    orders, lines = add_orders_from_purchases(con, ctx, table)
    return {
        "events": events,
        "users": users,
        "items": items,
        "orders": orders,
        "order_items": lines,
    }
