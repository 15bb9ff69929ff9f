"""MovieLens ratings: RecBole atomic ``.inter`` (``user_id:token item_id:token rating:float
timestamp:float``), the classic tab-separated ``u.data`` without header, or MovieLens-1M
``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``, no header).

Each rating becomes a ``view`` event carrying ``rating``. Sibling ``<stem>.item`` and
``<stem>.user`` files (RecBole) are merged into ``items`` (title, first genre as category)
and ``users`` (age, gender, occupation) in the same transaction.
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import ReaderSpec, quote_literal
from shopmind.ingest.formats.base import Field, Format
from shopmind.ingest.formats.event_tables import load_event_tables
from shopmind.ingest.sqlparts import (
    entities_decoded,
    first_problem,
    number_problem,
    number_value,
    required_text_problem,
    text,
    ts_problem,
    ts_value,
)


class MovieLens(Format):
    name = "movielens"
    description = "MovieLens ratings (RecBole .inter with siblings .item/.user, or u.data)"
    reader = ReaderSpec()  # TAB (.inter, u.data) or "::" (ratings.dat), guessed
    fields = (
        Field("user_id", ("user_id", "userId", "user", "column0"), required=True),
        Field("item_id", ("item_id", "movieId", "movie_id", "item", "column1"), required=True),
        Field("rating", ("rating", "column2")),
        Field("ts", ("timestamp", "ts", "column3"), required=True),
    )
    primary_key = "event_id"
    rows_pass_through = True
    timezone = "UTC"

    def staged_sql(self, ctx: Context) -> str:
        ts = ts_value(ctx.col("ts"), ctx.col_type("ts"), self.timezone)
        key = ctx.content_key("ml_", "user_id", "item_id", "ts")
        return f"""
        SELECT _row, {key} AS _key, {key} AS event_id, user_id, NULL AS session_id, item_id,
               'view' AS event_type, ts, NULL::DOUBLE AS quantity, NULL::DOUBLE AS price,
               NULL AS order_id, NULL AS query, NULL AS source, rating,
               {
            first_problem(
                required_text_problem("user_id", "user_id"),
                required_text_problem("item_id", "item_id"),
                number_problem("rating_raw", "rating", parsed="rating", low=0, high=10),
                ts_problem("ts_raw", "ts", "timestamp", ctx.col_type("ts"), self.timezone),
            )
        } AS _reason
        FROM (
            SELECT _row, {text(ctx.col("user_id"))} AS user_id,
                   {text(ctx.col("item_id"))} AS item_id,
                   {ctx.col("rating")} AS rating_raw, {number_value(ctx.col("rating"))} AS rating,
                   {ctx.col("ts")} AS ts_raw, {ts} AS ts
            FROM _raw
        )
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return "SELECT event_id FROM events WHERE event_id LIKE 'ml_%'"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        tables = load_event_tables(con, ctx)
        item_file = ctx.path.with_suffix(".item")
        user_file = ctx.path.with_suffix(".user")
        if item_file.exists():
            tables["items"] += _merge_item_file(con, ctx, str(item_file))
        if user_file.exists():
            _merge_user_file(con, ctx, str(user_file))
        return tables


def _read_atomic(path: str) -> str:
    return f"read_csv({quote_literal(path)}, delim = '\\t', header = true, all_varchar = true)"


def _merge_item_file(con: duckdb.DuckDBPyConnection, ctx: Context, path: str) -> int:
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_read_atomic(path)}").fetchall()]
    by_base = {c.split(":")[0]: f'"{c}"' for c in columns}
    title = by_base.get("movie_title", by_base.get("title", "NULL"))
    genres = by_base.get("class", by_base.get("genre", "NULL"))
    year = by_base.get("release_year", "NULL")
    item = by_base.get("item_id", "NULL")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _side AS
        SELECT trim({item}) AS item_id, {entities_decoded(f"trim({title})")} AS title,
               split_part(trim({genres}), ' ', 1) AS category,
               json_object('release_year', {year}, 'genres', {genres}) AS attributes
        FROM {_read_atomic(path)} WHERE {item} IS NOT NULL
        """
    )
    added = con.execute(
        "SELECT count(*) FROM _side s WHERE NOT EXISTS "
        "(SELECT 1 FROM items i WHERE i.item_id = s.item_id)"
    ).fetchone()
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _side_merged AS
        SELECT s.item_id, coalesce(s.title, o.title), o.title_zh, o.description,
               coalesce(s.category, o.category), o.brand, o.price, o.in_stock, s.attributes,
               coalesce(o.ingestion_id, '{ctx.ingestion_id}')
        FROM _side s LEFT JOIN items o USING (item_id)
        """
    )
    con.execute("DELETE FROM items WHERE item_id IN (SELECT item_id FROM _side)")
    con.execute("INSERT INTO items SELECT * FROM _side_merged")
    con.execute("DROP TABLE _side; DROP TABLE _side_merged")
    return int(added[0]) if added else 0


def _merge_user_file(con: duckdb.DuckDBPyConnection, ctx: Context, path: str) -> None:
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_read_atomic(path)}").fetchall()]
    by_base = {c.split(":")[0]: f'"{c}"' for c in columns}
    user = ctx.user_id(f"trim({by_base.get('user_id', 'NULL')})")
    con.execute(
        f"""
        UPDATE users SET age = TRY_CAST(s.age AS INTEGER), gender = s.gender,
               attributes = json_object('occupation', s.occupation)
        FROM (SELECT {user} AS user_id, {by_base.get("age", "NULL")} AS age,
                     {by_base.get("gender", "NULL")} AS gender,
                     {by_base.get("occupation", "NULL")} AS occupation
              FROM {_read_atomic(path)}) s
        WHERE users.user_id = s.user_id
        """
    )
