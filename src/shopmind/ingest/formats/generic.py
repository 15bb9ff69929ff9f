"""Generic files with canonical column names (or ``--map canonical=source``).

``--table events`` (default, append, key ``event_id`` or a content hash of the row),
``users`` / ``items`` / ``orders`` (merge on their id: known values replace stored ones,
missing values keep them). Source columns that are not canonical fields are kept in the
``attributes`` JSON of users, items and orders (direct PII hashed or dropped) and listed as
ignored for events. Timestamps need a zone unless ``--timezone`` says how to read them.
"""

from __future__ import annotations

import duckdb

from shopmind.errors import IngestError
from shopmind.ingest.context import Context
from shopmind.ingest.extract import quote_ident, quote_literal
from shopmind.ingest.formats.base import Field, Format, WriteDisposition
from shopmind.ingest.formats.event_tables import EVENT_COLUMNS, load_event_tables
from shopmind.ingest.sqlparts import (
    DECIMAL_COMMA,
    MAX_ABS_QUANTITY,
    MAX_PRICE,
    category_text,
    decimal_comma_problem,
    entities_decoded,
    event_type_problem,
    event_type_value,
    first_problem,
    nested_id_problem,
    number_problem,
    number_value,
    required_text_problem,
    text,
    trimmed,
    ts_problem,
    ts_value,
)
from shopmind.privacy import protect_pii_sql, redact_text_sql

_ALIASES: dict[str, tuple[str, ...]] = {
    # not a bare "id": in order exports it is the order's id (filled on the first line only)
    "event_id": ("event_id", "eventid"),
    "user_id": (
        "user_id",
        "userid",
        "user",
        "customer_id",
        "customerid",
        "customer",
        "uid",
        "visitorid",
        "visitor_id",
    ),
    "session_id": ("session_id", "sessionid", "session"),
    # a SKU before a bare "item": WooCommerce's "Item #" is the line number, SKU the product
    "item_id": (
        "item_id",
        "itemid",
        "sku",
        "item",
        "product_id",
        "productid",
        "product",
        "stockcode",
        "asin",
    ),
    "event_type": ("event_type", "eventtype", "event", "type", "behavior", "behaviour", "action"),
    "ts": (
        "ts",
        "timestamp",
        "time",
        "event_time",
        "eventtime",
        "datetime",
        "created_at",
        "occurred_at",
    ),
    "quantity": ("quantity", "qty"),
    "price": ("price", "unit_price", "unitprice"),
    "order_id": ("order_id", "orderid", "transaction_id", "transactionid", "invoice", "invoiceno"),
    "query": ("query", "search_query", "search_term", "keyword"),
    "source": ("source", "channel", "utm_source", "traffic_source"),
    "rating": ("rating", "score", "stars"),
    "signup_ts": ("signup_ts", "signup_time", "signup_at", "registered_at", "created_at"),
    "country": ("country", "country_code"),
    "gender": ("gender", "sex"),
    "age": ("age",),
    "title": ("title", "name", "product_name", "item_name"),
    "title_zh": ("title_zh", "name_zh"),
    "description": ("description", "desc"),
    "category": ("category", "category_id", "category_name"),
    "brand": ("brand", "brand_name"),
    "in_stock": ("in_stock", "instock", "available"),
    "amount": ("amount", "total", "order_total", "revenue"),
    "line_total": ("line_total", "linetotal", "line_amount", "lineitem_total"),
    "status": ("status", "order_status"),
    "currency": ("currency",),
    "parent_order_id": ("parent_order_id", "original_order_id"),
}

TABLE_FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    # line_total: a line's amount (quantity x price), for exports without a unit price
    "events": (*((c, c in {"event_type", "ts"}) for c in EVENT_COLUMNS), ("line_total", False)),
    "users": (
        ("user_id", True),
        ("signup_ts", False),
        ("country", False),
        ("gender", False),
        ("age", False),
    ),
    "items": (
        ("item_id", True),
        ("title", False),
        ("title_zh", False),
        ("description", False),
        ("category", False),
        ("brand", False),
        ("price", False),
        ("in_stock", False),
    ),
    "orders": (
        ("order_id", True),
        ("user_id", False),
        ("ts", True),
        ("amount", False),
        ("status", False),
        ("currency", False),
        ("parent_order_id", False),
        ("source", False),
        # line_total: one row per order line with the line's amount, always summed per order
        # (Olist order_items: two units of a product are two lines of one price)
        ("line_total", False),
    ),
}
KEYS = {"users": "user_id", "items": "item_id", "orders": "order_id"}


class Generic(Format):
    name = "generic"
    description = "canonical column names (or --map); --table events|users|items|orders"
    primary_key = "event_id / user_id / item_id / order_id (by --table)"
    rows_pass_through = True

    def fields_for(self, ctx: Context) -> tuple[Field, ...]:
        table = ctx.options.table
        if table not in TABLE_FIELDS:
            raise IngestError(
                f"--table {table} is not loadable.",
                hint=f"Use one of: {', '.join(TABLE_FIELDS)}.",
            )
        # --event-type names the type of every row of an events file without such a column
        constant = table == "events" and ctx.options.event_type is not None
        return tuple(
            Field(n, _ALIASES.get(n, (n,)), r and not (constant and n == "event_type"))
            for n, r in TABLE_FIELDS[table]
        )

    def disposition(self, ctx: Context) -> WriteDisposition:
        return "append" if ctx.options.table == "events" else "merge"

    def first_row_wins(self, ctx: Context) -> bool:
        # an order export with one row per line (Shopify, WooCommerce, Superstore) fills the
        # order's fields on its first line; the amount is combined over the lines
        return ctx.options.table == "orders"

    def staged_sql(self, ctx: Context) -> str:
        table = ctx.options.table
        if table == "events":
            return _events_sql(ctx)
        return _dimension_sql(ctx, table)

    def existing_keys_sql(self, ctx: Context) -> str | None:
        if ctx.options.table == "events":
            return "SELECT event_id FROM events"
        return None

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        table = ctx.options.table
        if table == "events":
            return load_event_tables(con, ctx)
        if table == "items" and ctx.has("price"):
            _note_unread_prices(con, ctx)
        return {table: _merge(con, ctx, table)}


#: Age bands as shops write them: 26-35, 26~35, 26 to 35, <25, >=56, 56+, 26-35岁, 56岁以上.
AGE_BAND = (
    r"(?:[<>]=?|≤|≥|under |over )?\s*\d{1,3}\s*(?:(?:-|–|~|to|至)\s*\d{1,3})?\s*"
    r"(?:\+|岁|years?|yrs)?\s*(?:以上|以下|及以上|and over|or older)?"
)


def _note_unread_prices(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """Say how many items were kept without their price because it is no number."""
    raw = ctx.col("price")
    row = con.execute(
        f"SELECT count(*), any_value(left({trimmed(raw)}, 40)) FROM _raw "
        f"WHERE ({text(raw)}) IS NOT NULL AND ({_num(ctx, 'price')}) IS NULL "
        f"AND NOT regexp_matches({trimmed(raw)}, {quote_literal(DECIMAL_COMMA)})"
    ).fetchone()
    if row and row[0]:
        ctx.notes.append(
            f"{row[0]:,} item{'s' if row[0] != 1 else ''} kept without a price: the price is no "
            f"number (e.g. {row[1]!r}); a price range or a text is not read."
        )


def _tz(ctx: Context) -> str | None:
    return ctx.options.timezone


def _num(ctx: Context, name: str) -> str:
    """A number read with the declared decimal separator (``--decimal``)."""
    return number_value(ctx.col(name), decimal=ctx.options.decimal)


def _events_sql(ctx: Context) -> str:
    if not (ctx.has("user_id") or ctx.has("session_id")):
        found = ", ".join(c for c in ctx.extracted.columns if not c.startswith("_"))
        raise IngestError(
            f"{ctx.path} has neither a user_id nor a session_id column (found: {found}).",
            file=str(ctx.path),
            hint="Map one with --map user_id=<column> or --map session_id=<column>.",
        )
    ts = ts_value(ctx.col("ts"), ctx.col_type("ts"), _tz(ctx), ctx.formats_of("ts"))
    key_cols: tuple[str, ...] = (
        "user_id",
        "session_id",
        "item_id",
        "event_type",
        "ts",
        "quantity",
        "price",
        "order_id",
        "query",
    )
    # columns no field uses travel as a digest (``_rest``): rows of one content key that
    # differ there (two units of one product as two order lines, told apart by a line
    # number) are told apart at deduplication, while the key itself stays the fields' own
    rest = _unmapped_columns(ctx)
    key = "event_id_in" if ctx.has("event_id") else ctx.content_key("ev_", *key_cols)
    # read with --decimal, as the price derived from it is (``_event_price``)
    line_total = number_value("line_total_raw", decimal=ctx.options.decimal)
    problems = first_problem(
        *(
            nested_id_problem(c, n)
            for c, n in (
                ("event_id_in", "event_id"),
                ("user_id", "user_id"),
                ("session_id", "session_id"),
                ("item_id", "item_id"),
                ("order_id", "order_id"),
            )
        ),
        "CASE WHEN user_id IS NULL AND session_id IS NULL THEN "
        "'user_id and session_id are both missing' END",
        event_type_problem("event_type_raw", parsed="event_type"),
        "CASE WHEN item_id IS NULL AND event_type NOT IN ('search') THEN 'item_id is missing' END",
        "CASE WHEN event_type = 'search' AND item_id IS NULL AND query IS NULL THEN "
        "'search event has neither query nor item_id' END",
        ts_problem("ts_raw", "ts", "ts", ctx.col_type("ts"), _tz(ctx), ctx.formats_of("ts")),
        number_problem(
            "quantity_raw",
            "quantity",
            parsed="quantity",
            low=-MAX_ABS_QUANTITY,
            high=MAX_ABS_QUANTITY,
        ),
        number_problem("price_raw", "price", parsed="price", low=0, high=MAX_PRICE),
        number_problem(
            "line_total_raw", "line_total", parsed=line_total, low=-MAX_PRICE, high=MAX_PRICE
        ),
        _zero_quantity_problem(ctx),
        number_problem("rating_raw", "rating", parsed="rating", low=-1e6, high=1e6),
        "CASE WHEN event_id_in IS NULL AND has_event_id THEN 'event_id is missing' END",
    )
    # the key is computed once (a content key is an md5 per row) and copied into event_id
    return f"""
    SELECT * REPLACE (_key AS event_id) FROM (
    SELECT _row, {key} AS _key, NULL AS event_id, user_id, session_id, item_id,
           {_RETURNED} AS event_type, ts,
           CASE WHEN {_SIGNED_OFF} THEN -quantity ELSE quantity END AS quantity,
           price, order_id, query, source, rating, {problems} AS _reason
           {", _rest" if rest else ""}
    FROM (
        SELECT _row, {text(ctx.col("event_id"))} AS event_id_in,
               {str(ctx.has("event_id")).upper()} AS has_event_id,
               {ctx.id_text("user_id")} AS user_id, {ctx.id_text("session_id")} AS session_id,
               {ctx.id_text("item_id")} AS item_id,
               {_event_type_column(ctx)} AS event_type_raw,
               {event_type_value(_event_type_column(ctx), ctx.options.event_map)} AS event_type,
               {ctx.col("ts")} AS ts_raw, {ts} AS ts,
               {ctx.col("quantity")} AS quantity_raw,
               {_num(ctx, "quantity")} AS quantity,
               {ctx.col("price")} AS price_raw, {_event_price(ctx)} AS price,
               {ctx.col("line_total")} AS line_total_raw,
               {ctx.id_text("order_id")} AS order_id,
               {redact_text_sql(text(ctx.col("query")))} AS query,
               {text(ctx.col("source"))} AS source,
               {ctx.col("rating")} AS rating_raw, {_num(ctx, "rating")} AS rating{rest}
        FROM _raw
    ))
    """


#: A purchase line with a negative quantity is a return (Dunnhumby, POS exports): it is
#: stored as a refund of the positive quantity, so gross revenue never goes down.
_RETURN_LINE = "event_type = 'purchase' AND quantity < 0"
_RETURNED = f"CASE WHEN {_RETURN_LINE} THEN 'refund' ELSE event_type END"
#: refunds carry the refunded units as a positive quantity, however the file signs them
_SIGNED_OFF = "event_type IN ('purchase', 'refund') AND quantity < 0"


def _zero_quantity_problem(ctx: Context) -> str:
    """A line total with quantity 0 gives no unit price: the money would be lost unseen."""
    if ctx.has("price") or not ctx.has("line_total"):
        return ""
    total = number_value("line_total_raw", decimal=ctx.options.decimal)
    return (
        f"CASE WHEN event_type IN ('purchase', 'refund') AND quantity = 0 AND {total} <> 0 "
        "THEN 'quantity 0 with a line total of ' || "
        f"left({trimmed('line_total_raw')}, 40) || ': the unit price is unknown' END"
    )


def _event_price(ctx: Context) -> str:
    """The unit price: the price column, else a line total over the quantity (Superstore
    ``Sales`` is quantity x price: mapped as price it multiplied revenue by the quantity)."""
    if ctx.has("price") or not ctx.has("line_total"):
        return _num(ctx, "price")
    quantity = f"coalesce({_num(ctx, 'quantity')}, 1)"
    return f"{_num(ctx, 'line_total')} / nullif({quantity}, 0)"


def _order_amount(ctx: Context) -> str:
    """``amount_raw, amount`` of an orders row: the line total when one is mapped (the
    lines are then summed per order, see ``_order_line_amounts``), else the amount."""
    name = "line_total" if ctx.has("line_total") else "amount"
    return f"{ctx.col(name)} AS amount_raw, {_num(ctx, name)} AS amount"


def _currency_option(ctx: Context) -> str:
    """``--currency`` as SQL: the orders' currency where the file has no column for it."""
    return quote_literal(ctx.options.currency) if ctx.options.currency else "NULL"


def _unmapped_columns(ctx: Context) -> str:
    """``, <digest of the source columns no field uses> AS _rest``, or '' when none (or when
    the file's own event ids are the key)."""
    if ctx.has("event_id"):
        return ""
    used = set(ctx.resolved.values())
    columns = [c for c in ctx.extracted.columns if c not in used and not c.startswith("_")]
    if not columns:
        return ""
    parts = ", ".join(f"coalesce(CAST({quote_ident(c)} AS VARCHAR), '\\N')" for c in columns)
    return f", md5(concat_ws('|', {parts})) AS _rest"


def _event_type_column(ctx: Context) -> str:
    """The event-type column, or the ``--event-type`` literal when the file has none."""
    if ctx.has("event_type") or ctx.options.event_type is None:
        return ctx.col("event_type")
    return quote_literal(ctx.options.event_type)


def _attributes_sql(ctx: Context) -> str:
    """JSON of source columns that are not canonical fields: direct PII and extra columns not
    judged non-personal as keyed hashes ``<col>_hash`` (or dropped, by policy); the others
    through the free-text redactor."""
    used = set(ctx.resolved.values())
    parts = []
    for column in ctx.extracted.columns:
        if column in used or column.startswith("_"):
            continue
        policy = ctx.undeclared.get(column, "keep")
        if column in ctx.pii_columns or policy != "keep":
            protected = protect_pii_sql(
                quote_ident(column),
                ctx.options.key,
                ctx.options.pii_policy,
                ctx.pii_columns.get(column),
            )
            if protected is not None:
                parts.append(f"{quote_literal(column + '_hash')}, {protected}")
            continue
        parts.append(f"{quote_literal(column)}, {redact_text_sql(text(quote_ident(column)))}")
    return f"json_object({', '.join(parts)})" if parts else "NULL::JSON"


def _dimension_sql(ctx: Context, table: str) -> str:
    key = KEYS[table]
    problems = [nested_id_problem(key, key), required_text_problem(key, key)]
    if table == "users":
        ts = ts_value(
            ctx.col("signup_ts"), ctx.col_type("signup_ts"), _tz(ctx), ctx.formats_of("signup_ts")
        )
        problems += [
            "CASE WHEN signup_raw IS NOT NULL THEN "
            + ts_problem(
                "signup_raw",
                "signup_ts",
                "signup_ts",
                ctx.col_type("signup_ts"),
                _tz(ctx),
                ctx.formats_of("signup_ts"),
            )
            + " END",
            # an age band ("26-35", "<25") is kept as the attribute age_band, not refused;
            # any other text is (a free-text column could hold anything, e-mails too)
            decimal_comma_problem("age_raw", "age", parsed="age"),
            f"CASE WHEN age IS NULL AND {text('age_raw')} IS NOT NULL AND NOT "
            f"regexp_full_match({text('age_raw')}, {quote_literal(AGE_BAND)}) THEN 'age ''' || "
            f"left({text('age_raw')}, 40) || ''' is neither a number nor an age band' END",
            number_problem("age", "age", parsed="age", low=0, high=130),
        ]
        select = f"""{ctx.id_text("user_id")} AS user_id, {ctx.col("signup_ts")} AS signup_raw,
               {ts} AS signup_ts, {text(ctx.col("country"))} AS country,
               {text(ctx.col("gender"))} AS gender, {ctx.col("age")} AS age_raw,
               TRY_CAST({_num(ctx, "age")} AS INTEGER) AS age"""
        band = f"left({text('age_raw')}, 40)"
        out = (
            "user_id, signup_ts, country, gender, age, CASE WHEN age IS NULL AND "
            f"nullif({band}, '') IS NOT NULL THEN json_merge_patch(coalesce(attributes, "
            f"'{{}}'::JSON), json_object('age_band', {band})) ELSE attributes END AS attributes"
        )
    elif table == "items":
        # an item is kept when its optional price is unreadable ("$5.49 - $8.99"): see
        # _unread_prices; a price out of range still quarantines it
        problems += [
            decimal_comma_problem("price_raw", "price", parsed="price"),
            number_problem("price", "price", parsed="price", low=0, high=MAX_PRICE),
        ]
        select = f"""{ctx.id_text("item_id")} AS item_id,
               {entities_decoded(text(ctx.col("title")))} AS title,
               {entities_decoded(text(ctx.col("title_zh")))} AS title_zh,
               {redact_text_sql(entities_decoded(text(ctx.col("description"))))} AS description,
               {category_text(text(ctx.col("category")))} AS category,
               {entities_decoded(text(ctx.col("brand")))} AS brand,
               {ctx.col("price")} AS price_raw, {_num(ctx, "price")} AS price,
               TRY_CAST({text(ctx.col("in_stock"))} AS BOOLEAN) AS in_stock"""
        out = "item_id, title, title_zh, description, category, brand, price, in_stock, attributes"
    else:
        ts = ts_value(ctx.col("ts"), ctx.col_type("ts"), _tz(ctx), ctx.formats_of("ts"))
        problems += [
            ts_problem("ts_raw", "ts", "ts", ctx.col_type("ts"), _tz(ctx), ctx.formats_of("ts")),
            number_problem("amount_raw", "amount", parsed="amount", low=-MAX_PRICE, high=MAX_PRICE),
        ]
        select = f"""{ctx.id_text("order_id")} AS order_id,
               {ctx.id_text("user_id")} AS user_id, {ctx.col("ts")} AS ts_raw, {ts} AS ts,
               {_order_amount(ctx)},
               coalesce(lower({text(ctx.col("status"))}), 'completed') AS status,
               lower({text(ctx.col("status"))}) AS status_given,
               coalesce({text(ctx.col("currency"))}, {_currency_option(ctx)}) AS currency,
               {ctx.id_text("parent_order_id")} AS parent_order_id,
               {text(ctx.col("source"))} AS source"""
        out = (
            "order_id, user_id, ts, amount, status, status_given, currency, parent_order_id, "
            "source, attributes"
        )
    return f"""
    SELECT _row, {key} AS _key, {out}, {first_problem(*problems)} AS _reason
    FROM (SELECT _row, {select}, {_attributes_sql(ctx)} AS attributes FROM _raw)
    """


_MERGE_COLUMNS = {
    "users": ("signup_ts", "country", "gender", "age", "attributes"),
    "items": (
        "title",
        "title_zh",
        "description",
        "category",
        "brand",
        "price",
        "in_stock",
        "attributes",
    ),
    "orders": (
        "user_id",
        "ts",
        "amount",
        "status",
        "currency",
        "parent_order_id",
        "source",
        "attributes",
    ),
}


def _order_line_amounts(con: duckdb.DuckDBPyConnection, ctx: Context) -> bool:
    """``_order_amounts``: one amount per order of a file with one row per order line.

    When some order's lines carry different amounts, they are line amounts and are summed
    (Superstore ``Sales``); when every order's lines repeat one value, it is the order total
    written on each line (WooCommerce ``Order Total``) and is taken once; an amount on the
    first line only (Shopify ``Total``) is taken as it is. The status is the last one the
    lines give (a file of status changes ends with the current one). Says which in the
    report; False when no order has more than one line. A mapped ``line_total`` is always
    summed (equal line amounts are then units of one price, not a repeated total)."""
    summed = str(ctx.has("line_total")).upper()
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _order_amounts AS
        SELECT *, CASE WHEN {summed} OR max(amounts) OVER () > 1 THEN total
                       ELSE first_amount END AS amount
        FROM (
            SELECT order_id, count(*) AS lines, count(DISTINCT amount) AS amounts,
                   sum(amount) AS total,
                   first(amount ORDER BY _row) FILTER (WHERE amount IS NOT NULL) AS first_amount,
                   last(status_given ORDER BY _row) FILTER (WHERE status_given IS NOT NULL)
                       AS status
            FROM _staged WHERE _reason IS NULL GROUP BY order_id HAVING count(*) > 1
        )
        """
    )
    row = con.execute(
        "SELECT count(*), sum(lines), max(amounts) > 1 FROM _order_amounts"
    ).fetchone()
    if not row or not row[0]:
        return False
    orders, lines = int(row[0]), int(row[1])
    line_level = bool(row[2]) or ctx.has("line_total")
    rule = (
        "their line totals were summed"
        if ctx.has("line_total")
        else "their amounts differ, so they are line amounts and were summed"
        if line_level
        else "each order has one amount (its total, on one line or repeated on each), taken once"
    )
    ctx.notes.append(
        f"{lines:,} rows are lines of {orders:,} order{'s' if orders != 1 else ''} with more "
        "than one line: each order is stored once, with the fields of its first line; "
        f"{rule}. The other lines are counted as duplicates."
    )
    return True


def _merge(con: duckdb.DuckDBPyConnection, ctx: Context, table: str) -> int:
    """Merge ``_fresh`` into ``table`` on its key; returns the rows written."""
    key = KEYS[table]
    # values combined over an order's lines come first (``a``), then the row's, then stored
    combined: tuple[str, ...] = ()
    join = ""
    if table == "orders" and _order_line_amounts(con, ctx):
        combined, join = ("amount", "status"), "LEFT JOIN _order_amounts a USING (order_id)"
    merged = ", ".join(
        f"coalesce({'a.' + c + ', ' if c in combined else ''}n.{c}, o.{c}) AS {c}"
        for c in _MERGE_COLUMNS[table]
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _merged AS
        SELECT n.{key}, {merged}, '{ctx.ingestion_id}' AS ingestion_id
        FROM _fresh n LEFT JOIN {table} o USING ({key}) {join}
        """
    )
    con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _fresh)")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _merged")
    count = con.execute("SELECT count(*) FROM _merged").fetchone()
    con.execute("DROP TABLE _merged")
    return int(count[0]) if count else 0
