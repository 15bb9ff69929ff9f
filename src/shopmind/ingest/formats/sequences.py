"""Item sequences, one text line per record, expanded to one event per item.

``sequences``: ``uid i1 i2 ...`` per user in time order (Amazon Beauty as used by SASRec).
``sessions``: ``i1 i2 ...`` per anonymous session (Diginetica, SR-GNN preprocessing).
Neither has timestamps: increasing ones are synthesised from 2000-01-01 UTC so that the
order inside a line (and, for sessions, between lines) is kept. A line is the unit of the
row accounting; ``events_loaded`` counts the expanded events.
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import ReaderSpec
from shopmind.ingest.formats.base import Format
from shopmind.ingest.formats.event_tables import load_event_tables
from shopmind.ingest.sqlparts import EVENT_TYPES, first_problem

SYNTHETIC_EPOCH = "2000-01-01 00:00:00+00"
SYNTHETIC_NOTE = (
    "this format has no timestamps: events get synthetic times from 2000-01-01 that keep "
    "their order only, so dates, recency, retention, trends, sessions' lengths, CLV and "
    "propensity do not describe real time (make demo skips the steps that need dates)"
)


def _note_synthetic(ctx: Context) -> None:
    if SYNTHETIC_NOTE not in ctx.notes:  # staging may run twice (a strict read, then exact)
        ctx.notes.append(SYNTHETIC_NOTE)


def _tokens() -> str:
    return "regexp_split_to_array(trim(line), '\\s+')"


def _event_type(ctx: Context, default: str) -> str:
    chosen = ctx.options.event_type or default
    if chosen not in EVENT_TYPES:
        from shopmind.errors import IngestError

        raise IngestError(
            f"--event-type {chosen} is not one of {', '.join(EVENT_TYPES)}.",
            hint="Pick one of the canonical event types.",
        )
    return chosen


#: a line with a comma, semicolon or bar is a delimited record (a CSV export), not items
#: separated by blanks: quarantined with this reason rather than loaded as one odd item
DELIMITED_LINE = (
    "CASE WHEN regexp_matches(line, '[,;|]') THEN 'a delimited record, not item ids "
    "separated by blanks (for a CSV use --format generic with --map)' END"
)


def _expand(con: duckdb.DuckDBPyConnection, event_type: str, ts_sql: str) -> None:
    """``_events``: one row per item of each fresh line, ``pos`` counting from 1."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _events AS
        SELECT _key || '_' || pos AS event_id, user_id, session_id, item_id,
               '{event_type}' AS event_type, {ts_sql} AS ts, NULL::DOUBLE AS quantity,
               NULL::DOUBLE AS price, NULL AS order_id
        FROM (SELECT _key, _row, user_id, session_id, unnest(items) AS item_id,
                     generate_subscripts(items, 1) AS pos FROM _fresh)
        """
    )


class Sequences(Format):
    name = "sequences"
    description = "one line per user: 'uid i1 i2 ...' in time order (timestamps synthesised)"
    reader = ReaderSpec(kind="lines")
    primary_key = "line content (user id + items)"
    raw_user_columns = ("line",)  # the line starts with the user id

    def staged_sql(self, ctx: Context) -> str:
        _note_synthetic(ctx)
        _event_type(ctx, "purchase")
        key = ctx.content_key("sq_", "user_id", "array_to_string(items, ' ')")
        return f"""
        SELECT _row, {key} AS _key, user_id, NULL AS session_id, items,
               {
            first_problem(
                "CASE WHEN line IS NULL OR trim(line) = '' THEN 'empty line' END",
                DELIMITED_LINE,
                "CASE WHEN len(items) = 0 THEN 'user ''' || user_id || ''' has no items' END",
                "CASE WHEN earlier IS NOT NULL THEN 'user ''' || user_id || ''' already "
                "has a different sequence on line ' || earlier END",
            )
        } AS _reason
        FROM (
            SELECT *, CASE WHEN first_row < _row AND first_line <> line THEN first_row END
                      AS earlier
            FROM (
                SELECT _row, line, tokens[1] AS user_id, tokens[2:] AS items,
                       min(_row) OVER (PARTITION BY tokens[1]) AS first_row,
                       first(line ORDER BY _row) OVER (PARTITION BY tokens[1]) AS first_line
                FROM (SELECT _row, line, {_tokens()} AS tokens FROM _raw)
            )
        )
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        first_events = "event_id LIKE 'sq\\_%\\_1' ESCAPE '\\'"
        return f"SELECT substr(event_id, 1, 35) FROM events WHERE {first_events}"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        _expand(
            con,
            _event_type(ctx, "purchase"),
            f"TIMESTAMPTZ '{SYNTHETIC_EPOCH}' + to_minutes(CAST(pos AS BIGINT))",
        )
        return load_event_tables(con, ctx, "_events")


class Sessions(Format):
    name = "sessions"
    description = "one anonymous session per line: 'i1 i2 ...' (timestamps synthesised)"
    reader = ReaderSpec(kind="lines")
    primary_key = "session_id (file sha256 prefix + line number)"
    user_field = None

    def staged_sql(self, ctx: Context) -> str:
        _note_synthetic(ctx)
        _event_type(ctx, "view")
        session = f"'ss_{ctx.sha256[:12]}_' || _row"
        return f"""
        SELECT _row, {session} AS _key, NULL AS user_id, {session} AS session_id,
               {_tokens()} AS items,
               {
            first_problem(
                "CASE WHEN line IS NULL OR trim(line) = '' THEN 'empty line' END", DELIMITED_LINE
            )
        } AS _reason
        FROM _raw
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return (
            "SELECT DISTINCT session_id FROM events "
            f"WHERE session_id LIKE 'ss\\_{ctx.sha256[:12]}\\_%' ESCAPE '\\'"
        )

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        _expand(
            con,
            _event_type(ctx, "view"),
            f"TIMESTAMPTZ '{SYNTHETIC_EPOCH}' + to_seconds(CAST(_row * 600 + pos AS BIGINT))",
        )
        return load_event_tables(con, ctx, "_events")
