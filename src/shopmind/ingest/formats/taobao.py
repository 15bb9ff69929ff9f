"""Alibaba Taobao UserBehavior (Tianchi 649): ``user_id,item_id,category_id,behavior,timestamp``.

No header; behavior in pv/cart/fav/buy; unix seconds. The dataset covers 2017-11-25 ..
2017-12-03 China time (UTC+8): rows outside it are quarantined with the reason.
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import ReaderSpec
from shopmind.ingest.formats.base import Field, Format
from shopmind.ingest.formats.event_tables import load_event_tables
from shopmind.ingest.sqlparts import (
    first_problem,
    required_text_problem,
    text,
    ts_problem,
    ts_value,
)

PERIOD_START = "2017-11-25 00:00:00+08"
PERIOD_END = "2017-12-04 00:00:00+08"  # exclusive: the documented period ends 2017-12-03
BEHAVIORS = {"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"}


class TaobaoUserBehavior(Format):
    name = "taobao_userbehavior"
    description = (
        "Taobao UserBehavior CSV (no header): user, item, category, pv/cart/fav/buy, unix s"
    )
    reader = ReaderSpec(
        header=False,
        delimiter=",",
        column_names=("user_id", "item_id", "category_id", "behavior", "timestamp"),
    )
    fields = (
        Field("user_id", ("user_id",), required=True),
        Field("item_id", ("item_id",), required=True),
        Field("category", ("category_id",), required=True),
        Field("event_type", ("behavior",), required=True),
        Field("ts", ("timestamp",), required=True),
    )
    primary_key = "event_id"
    rows_pass_through = True
    timezone = "Asia/Shanghai"

    def staged_sql(self, ctx: Context) -> str:
        behaviors = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in BEHAVIORS.items())
        ts = ts_value(ctx.col("ts"), ctx.col_type("ts"), self.timezone)
        return f"""
        SELECT _row, event_id AS _key, event_id, user_id, NULL AS session_id, item_id, event_type,
               ts, NULL::DOUBLE AS quantity, NULL::DOUBLE AS price, NULL AS order_id,
               NULL AS query, NULL AS source, NULL::DOUBLE AS rating, item_category,
               {
            first_problem(
                required_text_problem("user_id", "user_id"),
                required_text_problem("item_id", "item_id"),
                "CASE WHEN event_type IS NULL THEN 'behavior ''' || coalesce(behavior, '') || "
                "''' is not one of pv, cart, fav, buy' END",
                ts_problem("ts_raw", "ts", "timestamp", ctx.col_type("ts"), self.timezone),
                f"CASE WHEN ts < TIMESTAMPTZ '{PERIOD_START}' OR ts >= TIMESTAMPTZ "
                f"'{PERIOD_END}' THEN 'timestamp ''' || strftime(timezone('Asia/Shanghai', ts), "
                "'%Y-%m-%d %H:%M:%S') || ''' (China time) is outside the dataset period "
                "2017-11-25 .. 2017-12-03' END",
            )
        } AS _reason
        FROM (
            SELECT *, {ctx.content_key("tb_", "user_id", "item_id", "event_type", "ts")} AS event_id
            FROM (
                SELECT _row, {text(ctx.col("user_id"))} AS user_id,
                       {text(ctx.col("item_id"))} AS item_id,
                       {text(ctx.col("category"))} AS item_category,
                       lower(trim({ctx.col("event_type")})) AS behavior,
                       CASE lower(trim({ctx.col("event_type")})) {behaviors} END AS event_type,
                       {ctx.col("ts")} AS ts_raw, {ts} AS ts
                FROM _raw
            )
        )
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return "SELECT event_id FROM events WHERE event_id LIKE 'tb_%'"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        return load_event_tables(con, ctx)
