"""E-commerce first-purchase fraud set: ``user_id, signup_time, purchase_time,
purchase_value, device_id, source, browser, sex, age, class`` (+ ``ip_address`` when present).

Each row becomes a user (signup time, gender, age), a purchase event and order (device and
browser in the order's attributes; device ids pseudonymised, IP addresses hashed or dropped
as direct PII) and a ``fraud`` label on the order and the user. Times have no zone: UTC.
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.formats.base import Field, Format
from shopmind.ingest.formats.event_tables import load_event_tables
from shopmind.ingest.sqlparts import (
    first_problem,
    number_problem,
    number_value,
    plausible_date_problem,
    required_text_problem,
    text,
)
from shopmind.privacy import protect_pii_sql

_TS_FORMATS = ("%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%y %H:%M:%S")


def _parse_ts(col: str) -> str:
    tries = ", ".join(f"TRY_STRPTIME(trim({col}), '{f}')" for f in _TS_FORMATS)
    return f"timezone('UTC', coalesce({tries}))"


class FraudData(Format):
    name = "fraud_data"
    description = "first-purchase fraud CSV (Fraud_Data): signup/purchase times, device, class"
    fields = (
        Field("user_id", ("user_id",), required=True),
        Field("signup_ts", ("signup_time",), required=True),
        Field("ts", ("purchase_time",), required=True),
        Field("price", ("purchase_value",), required=True),
        Field("device_id", ("device_id",)),
        Field("source", ("source",)),
        Field("browser", ("browser",)),
        Field("gender", ("sex", "gender")),
        Field("age", ("age",)),
        Field("label", ("class", "is_fraud", "fraud"), required=True),
        Field("ip_address", ("ip_address",)),
    )
    primary_key = "event_id"
    rows_pass_through = True
    timezone = "UTC"
    identifier_fields = ("device_id",)

    def staged_sql(self, ctx: Context) -> str:
        key = ctx.content_key("fd_", "user_id", "ts", "price")
        ip = protect_pii_sql(ctx.col("ip_address"), ctx.options.key, ctx.options.pii_policy)
        return f"""
        SELECT _row, {key} AS _key, {key} AS event_id, user_id, NULL AS session_id,
               NULL AS item_id, 'purchase' AS event_type, ts, 1.0 AS quantity, price,
               {key} AS order_id, NULL AS query, source, NULL::DOUBLE AS rating,
               signup_ts, device_id, browser, gender, age, label, ip,
               {
            first_problem(
                required_text_problem("user_id", "user_id"),
                "CASE WHEN signup_ts IS NULL THEN 'signup_time ''' || "
                "coalesce(signup_raw, '') || ''' is not a date-time' END",
                "CASE WHEN ts IS NULL THEN 'purchase_time ''' || coalesce(ts_raw, '') || "
                "''' is not a date-time' END",
                plausible_date_problem("signup_ts", "signup_time", "signup_raw"),
                plausible_date_problem("ts", "purchase_time", "ts_raw"),
                "CASE WHEN ts < signup_ts THEN 'purchase_time is before signup_time' END",
                number_problem(
                    "price_raw", "purchase_value", parsed="price", required=True, low=0, high=1e7
                ),
                "CASE WHEN label IS NULL THEN 'class ''' || coalesce(label_raw, '') || "
                "''' is not 0 or 1' END",
                number_problem("age_raw", "age", parsed="age", low=0, high=130),
            )
        } AS _reason
        FROM (
            SELECT _row, {text(ctx.col("user_id"))} AS user_id,
                   CAST({ctx.col("signup_ts")} AS VARCHAR) AS signup_raw,
                   {_parse_ts(ctx.col("signup_ts"))} AS signup_ts,
                   CAST({ctx.col("ts")} AS VARCHAR) AS ts_raw, {_parse_ts(ctx.col("ts"))} AS ts,
                   CAST({ctx.col("price")} AS VARCHAR) AS price_raw,
                   {number_value(ctx.col("price"))} AS price,
                   {ctx.identifier(text(ctx.col("device_id")))} AS device_id,
                   {text(ctx.col("source"))} AS source, {text(ctx.col("browser"))} AS browser,
                   {text(ctx.col("gender"))} AS gender,
                   CAST({ctx.col("age")} AS VARCHAR) AS age_raw,
                   TRY_CAST({number_value(ctx.col("age"))} AS INTEGER) AS age,
                   CAST({ctx.col("label")} AS VARCHAR) AS label_raw,
                   CASE trim(CAST({ctx.col("label")} AS VARCHAR)) WHEN '0' THEN 0 WHEN '1' THEN 1
                   END AS label,
                   {ip if ip is not None else "NULL"} AS ip
            FROM _raw
        )
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return "SELECT event_id FROM events WHERE event_id LIKE 'fd_%'"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        tables = load_event_tables(con, ctx)
        con.execute(
            """
            UPDATE users SET signup_ts = coalesce(users.signup_ts, f.signup_ts),
                   gender = coalesce(users.gender, f.gender), age = coalesce(users.age, f.age)
            FROM (SELECT user_id, min(signup_ts) AS signup_ts, any_value(gender) AS gender,
                         any_value(age) AS age FROM _fresh GROUP BY user_id) f
            WHERE users.user_id = f.user_id
            """
        )
        con.execute(
            """
            UPDATE orders SET attributes = json_object('device_id', f.device_id,
                   'browser', f.browser, 'ip_address', f.ip)
            FROM _fresh f WHERE orders.order_id = f.order_id
            """
        )
        con.execute(
            """
            INSERT INTO labels
            SELECT 'order', order_id, 'fraud', CAST(label AS VARCHAR), 'fraud_data' FROM _fresh
            UNION ALL
            SELECT 'user', user_id, 'fraud', CAST(max(label) AS VARCHAR), 'fraud_data'
            FROM _fresh GROUP BY user_id
            """
        )
        tables["labels"] = int(con.execute("SELECT count(*) FROM _fresh").fetchone()[0])  # type: ignore[index]
        return tables
