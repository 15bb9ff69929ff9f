"""UCI Online Retail (Chen, Sain & Guo 2012): one row per invoice line.

Columns ``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country``; InvoiceDate is UK local time without a zone (read as Europe/London).
Real dirt, handled as a shop would want it:

* cancellations (InvoiceNo ``C...``, negative quantity) become ``refund`` events linked to
  the customer's latest earlier order of the same item (an as-of join); the cancellation
  invoice is stored as an order with status ``refund`` and ``parent_order_id``; refunded
  orders get status ``refunded`` or ``partially_refunded``;
* lines without CustomerID are kept as anonymous purchases (``user_id`` NULL);
* exact duplicate lines are counted as duplicates, not loaded twice;
* stock adjustments (negative quantity on a normal invoice, zero-price lines without a
  customer) and accounting adjustments (InvoiceNo ``A...``, "Adjust bad debt", of either
  sign; a negative price elsewhere) are not sales: quarantined with reasons;
* non-product lines (postage, carriage, fees, manual adjustments, discounts, samples, bank
  charges, gift vouchers: ``NON_PRODUCT_CODES``) stay in the sales figures but are marked
  not eligible in ``item_eligibility`` (never recommended, not best-selling products).
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.formats.base import Field, Format
from shopmind.ingest.formats.event_tables import load_event_tables
from shopmind.ingest.sqlparts import (
    MAX_ABS_QUANTITY,
    MAX_PRICE,
    first_problem,
    number_problem,
    number_value,
    required_text_problem,
    text,
    ts_problem,
    ts_value,
)

#: StockCode patterns (SQL ILIKE) of lines that are not products, with the reason.
NON_PRODUCT_CODES = (
    ("POST", "postage"),
    ("DOT", "postage (dotcom)"),
    ("C2", "carriage"),
    ("M", "manual adjustment"),
    ("D", "discount"),
    ("S", "samples"),
    ("B", "bad-debt adjustment"),
    ("BANK CHARGES", "bank charges"),
    ("AMAZONFEE", "marketplace fee"),
    ("CRUK", "charity commission"),
    ("PADS", "placeholder line"),
    ("TEST%", "test line"),
    ("gift\\_0001\\_%", "gift voucher"),
)


class OnlineRetail(Format):
    name = "online_retail"
    description = "UCI Online Retail invoice lines (CSV/Parquet/Excel export)"
    fields = (
        Field("order_id", ("InvoiceNo", "Invoice"), required=True),
        Field("item_id", ("StockCode",), required=True),
        Field("title", ("Description",)),
        Field("quantity", ("Quantity",), required=True),
        Field("ts", ("InvoiceDate",), required=True),
        Field("price", ("UnitPrice", "Price"), required=True),
        Field("user_id", ("CustomerID", "Customer ID"), required=True),
        Field("country", ("Country",)),
    )
    primary_key = "event_id"
    rows_pass_through = True
    updates_fresh = True  # refunds are linked to their orders in ``_fresh``
    timezone = "Europe/London"
    currency = "GBP"

    def staged_sql(self, ctx: Context) -> str:
        tz = ctx.options.timezone or self.timezone
        ts = ts_value(ctx.col("ts"), ctx.col_type("ts"), tz, ctx.formats_of("ts"))
        customer = f"regexp_replace({text(ctx.col('user_id'))}, '\\.0+$', '')"
        problems = first_problem(
            required_text_problem("invoice", "InvoiceNo"),
            required_text_problem("item_id", "StockCode"),
            ts_problem("ts_raw", "ts", "InvoiceDate", ctx.col_type("ts"), tz, ctx.formats_of("ts")),
            number_problem(
                "qty_raw",
                "Quantity",
                parsed="qty",
                required=True,
                low=-MAX_ABS_QUANTITY,
                high=MAX_ABS_QUANTITY,
            ),
            number_problem(
                "price_raw", "UnitPrice", parsed="unit_price", required=True, high=MAX_PRICE
            ),
            "CASE WHEN qty = 0 THEN 'Quantity is 0' END",
            "CASE WHEN unit_price < 0 THEN 'UnitPrice ''' || price_raw || ''' is negative: "
            "a bad-debt adjustment, not a sale' END",
            "CASE WHEN NOT is_cancel AND qty < 0 THEN 'Quantity ''' || qty_raw || ''' is "
            "negative on a normal invoice: a stock adjustment, not a sale' END",
            "CASE WHEN is_cancel AND qty > 0 THEN 'Quantity ''' || qty_raw || ''' is positive "
            "on cancellation invoice ''' || invoice || '''' END",
            "CASE WHEN unit_price = 0 AND user_id IS NULL THEN 'UnitPrice 0 without "
            "CustomerID: a stock write-off, not a sale' END",
            "CASE WHEN starts_with(upper(invoice), 'A') THEN 'InvoiceNo ''' || invoice || "
            "''' is an accounting adjustment (' || coalesce(item_title, item_id) || "
            "'), not a sale' END",
        )
        key = ctx.content_key(
            "or_",
            "invoice",
            "item_id",
            "item_title",
            "qty",
            "ts",
            "unit_price",
            "user_id",
            "user_country",
        )
        # the key is computed once (an md5 per row) and copied into event_id
        return f"""
        SELECT * REPLACE (_key AS event_id) FROM (
        SELECT _row, {key} AS _key, NULL AS event_id, user_id,
               CASE WHEN user_id IS NULL THEN 'anon_' || invoice END AS session_id, item_id,
               CASE WHEN is_cancel THEN 'refund' ELSE 'purchase' END AS event_type, ts,
               abs(qty) AS quantity, unit_price AS price, invoice AS order_id,
               NULL AS query, NULL AS source, NULL::DOUBLE AS rating,
               CASE WHEN is_cancel THEN invoice END AS refund_invoice,
               item_title, unit_price AS item_price, user_country,
               {problems} AS _reason
        FROM (
            SELECT _row, {text(ctx.col("order_id"))} AS invoice,
                   starts_with(upper({text(ctx.col("order_id"))}), 'C') AS is_cancel,
                   {text(ctx.col("item_id"))} AS item_id, {text(ctx.col("title"))} AS item_title,
                   CAST({ctx.col("quantity")} AS VARCHAR) AS qty_raw,
                   {number_value(ctx.col("quantity"), ctx.col_type("quantity"))} AS qty,
                   CAST({ctx.col("price")} AS VARCHAR) AS price_raw,
                   {number_value(ctx.col("price"), ctx.col_type("price"))} AS unit_price,
                   {ctx.col("ts")} AS ts_raw, {ts} AS ts,
                   {customer} AS user_id, {text(ctx.col("country"))} AS user_country
            FROM _raw
        ))
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return "SELECT event_id FROM events WHERE event_id LIKE 'or_%'"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        _link_refunds(con)
        tables = load_event_tables(con, ctx)
        tables["orders"] += _add_refund_orders(con, ctx)
        _mark_refunded_orders(con)
        _mark_non_products(con)
        return tables


def _link_refunds(con: duckdb.DuckDBPyConnection) -> None:
    """Point each refund at the customer's latest earlier order of the same item."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _purchases AS
        SELECT user_id, item_id, ts, order_id FROM _fresh
        WHERE event_type = 'purchase' AND user_id IS NOT NULL
        UNION ALL
        SELECT user_id, item_id, ts, order_id FROM events
        WHERE event_type = 'purchase' AND user_id IS NOT NULL AND event_id LIKE 'or_%'
        """
    )
    con.execute(
        """
        UPDATE _fresh SET order_id = link.order_id
        FROM (
            SELECT r.event_id, p.order_id
            FROM (SELECT event_id, user_id, item_id, ts FROM _fresh
                  WHERE event_type = 'refund' AND user_id IS NOT NULL) r
            ASOF JOIN _purchases p
              ON r.user_id = p.user_id AND r.item_id = p.item_id AND r.ts >= p.ts
        ) link
        WHERE _fresh.event_id = link.event_id
        """
    )
    con.execute("DROP TABLE _purchases")


def _add_refund_orders(con: duckdb.DuckDBPyConnection, ctx: Context) -> int:
    """Cancellation invoices as orders with status 'refund' and a negative amount."""
    before = con.execute("SELECT count(*) FROM orders").fetchone()
    con.execute(
        f"""
        INSERT INTO orders
        SELECT refund_invoice, any_value(user_id), min(ts), -sum(quantity * price), 'refund',
               NULL, mode(CASE WHEN order_id <> refund_invoice THEN order_id END), NULL, NULL,
               '{ctx.ingestion_id}'
        FROM _fresh f
        WHERE event_type = 'refund'
          AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = f.refund_invoice)
        GROUP BY refund_invoice
        """
    )
    after = con.execute("SELECT count(*) FROM orders").fetchone()
    return int(after[0]) - int(before[0]) if after and before else 0


def _mark_refunded_orders(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        UPDATE orders SET status = CASE WHEN r.refunded >= orders.amount - 0.005
                                        THEN 'refunded' ELSE 'partially_refunded' END
        FROM (SELECT order_id, sum(quantity * price) AS refunded FROM events
              WHERE event_type = 'refund' AND event_id LIKE 'or_%' GROUP BY order_id) r
        WHERE orders.order_id = r.order_id AND orders.status <> 'refund'
        """
    )


def _mark_non_products(con: duckdb.DuckDBPyConnection) -> None:
    """Record non-product lines seen in this load as not eligible (once per item)."""
    cases = " ".join(
        f"WHEN item_id ILIKE '{pattern}' ESCAPE '\\' THEN '{reason}'"
        for pattern, reason in NON_PRODUCT_CODES
    )
    con.execute(
        f"""
        INSERT INTO item_eligibility
        SELECT item_id, FALSE, reason, 'format:online_retail', now()
        FROM (SELECT item_id, CASE {cases} END AS reason
              FROM (SELECT DISTINCT item_id FROM _fresh)) f
        WHERE reason IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM item_eligibility e
            WHERE e.item_id = f.item_id AND e.source = 'format:online_retail')
        """
    )
