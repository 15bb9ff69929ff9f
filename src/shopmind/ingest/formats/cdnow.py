"""CDNOW (Fader, Hardie & Lee 2005): whitespace-separated purchase records.

``CDNOW_master.txt``: ``customer_id date(YYYYMMDD) number_of_cds dollar_value`` (a header
line is skipped); ``CDNOW_sample.txt``: ``customer_id customer_index date cds dollars``.
Each row becomes an order and a purchase event (no item ids in this dataset).
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import ReaderSpec
from shopmind.ingest.formats.base import Format
from shopmind.ingest.formats.event_tables import load_event_tables
from shopmind.ingest.sqlparts import (
    first_problem,
    number_problem,
    number_value,
    plausible_date_problem,
)


class Cdnow(Format):
    name = "cdnow"
    description = "CDNOW master or sample file (whitespace separated, dates YYYYMMDD)"
    reader = ReaderSpec(kind="whitespace", skip_header_like=r"^\s*[A-Za-z_]")
    primary_key = "event_id"
    timezone = "UTC"
    currency = "USD"  # CDNOW was a US shop; the published column is dollar_value
    raw_user_columns = ("col1",)

    def staged_sql(self, ctx: Context) -> str:
        # the layout (master: 4 fields, sample: 5) is the one most lines have, so one line
        # with an extra field is quarantined instead of changing how the file is read
        width = ctx.extracted.typical_fields or 4
        if width >= 5:
            user, date, cds, dollars = "col1", "col3", "col4", "col5"
        else:
            user, date, cds, dollars = "col1", "col2", "col3", "col4"
        expected = 5 if width >= 5 else 4
        # Identical lines are separate purchases on one day: the occurrence number keeps them
        # apart while the same line in another file (master vs sample) still deduplicates.
        key = ctx.content_key("cd_", "user_id", "day", "cds", "dollars", "occurrence")
        problems = first_problem(
            "CASE WHEN _line IS NULL OR trim(_line) = '' THEN 'empty line' END",
            f"CASE WHEN _fields <> {expected} THEN 'expected {expected} fields, found ' || "
            "_fields END",
            f"CASE WHEN day IS NULL THEN 'date ''' || coalesce({date}, '') || ''' is not "
            "YYYYMMDD' END",
            plausible_date_problem("timezone('UTC', CAST(day AS TIMESTAMP))", "date", date),
            number_problem(cds, "number_of_cds", parsed="cds", required=True, low=0, high=1e5),
            number_problem(
                dollars, "dollar_value", parsed="dollars", required=True, low=0, high=1e7
            ),
        )
        return f"""
        SELECT _row, {key} AS _key, {key} AS event_id, user_id, NULL AS session_id,
               NULL AS item_id, 'purchase' AS event_type, ts, cds AS quantity,
               CASE WHEN cds > 0 THEN dollars / cds END AS price, {key} AS order_id,
               NULL AS query, NULL AS source, NULL::DOUBLE AS rating, dollars AS line_amount,
               {problems} AS _reason
        FROM (
            SELECT *, timezone('UTC', CAST(day AS TIMESTAMP)) AS ts,
                   row_number() OVER (PARTITION BY user_id, day, cds, dollars ORDER BY _row)
                   AS occurrence
            FROM (
                SELECT _row, _line, _fields, {cds}, {dollars}, {date},
                       ltrim({user}, '0') AS user_id,
                       TRY_STRPTIME({date}, '%Y%m%d') AS day,
                       {number_value(cds)} AS cds, {number_value(dollars)} AS dollars
                FROM _raw
            )
        )
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return "SELECT event_id FROM events WHERE event_id LIKE 'cd_%'"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        return load_event_tables(con, ctx)
