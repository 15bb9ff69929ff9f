"""Landing a micro-batch of API events with the file ingest's validation.

The batch becomes a ``_raw`` table with canonical column names, the generic format's
``staged_sql`` validates and types it exactly as for a file (event type spellings, ISO-8601
times with an offset, numbers, ranges, user or session present), bad events go to
``quarantine`` with the reason (user ids pseudonymised, query text redacted), events whose
``event_id`` is already stored (or repeated in the batch) are duplicates, and the rest load
with :func:`load_event_tables` (events plus the users, items and orders they imply). One
ingestion row per service run counts them. Event and session ids are stored as given.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shopmind.ingest import IngestOptions, get_format
from shopmind.ingest.context import Context
from shopmind.ingest.extract import Extracted
from shopmind.ingest.formats.event_tables import EVENT_COLUMNS, load_event_tables
from shopmind.ingest.vault_fill import fill_vault
from shopmind.privacy import redact_text_sql
from shopmind.privacy.pii import register_redactor

SOURCE = "POST /v1/events"
FORMAT = "api"
_NUMERIC = ("quantity", "price", "rating")


@dataclass
class Landed:
    """What happened to each event of a batch (indexes into the batch)."""

    fresh: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    quarantined: dict[int, str] = field(default_factory=dict)
    #: session id -> [(event_id, item_id, ts, event_type)] of the fresh events
    sessions: dict[str, list[tuple[str, str, datetime, str]]] = field(default_factory=dict)
    #: (stored user id, event type, ts) of fresh cart and refund events (risk velocities)
    user_events: list[tuple[str, str, datetime]] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class EventLoader:
    """Loads batches on one write connection; the caller owns the transaction."""

    def __init__(self, options: IngestOptions, run_started: datetime | None = None) -> None:
        self.options = options
        self.fmt = get_format("generic")
        started = run_started or datetime.now(UTC)
        self.ingestion_id = (
            f"api_{started:%Y%m%dT%H%M%S}_{hashlib.sha256(str(started).encode()).hexdigest()[:8]}"
        )
        self.started = started
        self._registered = False
        self._redactor = False

    def _context(self, n: int) -> Context:
        extracted = Extracted(
            columns=dict.fromkeys(EVENT_COLUMNS, "VARCHAR"), rows_parsed=n, rows_rejected=0
        )
        ctx = Context(Path(SOURCE), self.options, extracted, "", self.ingestion_id)
        ctx.resolved = {c: c for c in EVENT_COLUMNS}
        ctx.user_columns = {"user_id"}
        return ctx

    def land(self, con: duckdb.DuckDBPyConnection, events: list[dict[str, Any]]) -> Landed:
        """Validate, deduplicate and load ``events`` (inside the caller's transaction)."""
        if not self._redactor:
            register_redactor(con)
            con.execute("SELECT 1").fetchall()  # finish the check's result before register()
            self._redactor = True
        columns: dict[str, list[Any]] = {"_row": list(range(len(events)))}
        for name in EVENT_COLUMNS:
            columns[name] = [_text(e.get(name)) for e in events]
        con.register(
            "_api_batch",
            pa.table(
                {
                    k: pa.array(v, type=pa.int64() if k == "_row" else pa.string())
                    for k, v in columns.items()
                }
            ),
        )
        try:
            select = ", ".join(
                f"{redact_text_sql(c)} AS {c}" if c == "query" else c for c in EVENT_COLUMNS
            )
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT _row, {select} FROM _api_batch"
            )
        finally:
            con.unregister("_api_batch")
        ctx = self._context(len(events))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _staged AS {self.fmt.staged_sql(ctx)}")
        landed = Landed()
        for row, reason in con.execute(
            "SELECT _row, _reason FROM _staged WHERE _reason IS NOT NULL"
        ).fetchall():
            landed.quarantined[int(row)] = str(reason)
        # first good occurrence of each event id not yet stored
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _fresh AS
            SELECT s.* EXCLUDE (_reason, _key) REPLACE ({ctx.user_id("s.user_id")} AS user_id)
            FROM _staged s
            WHERE s._reason IS NULL
              AND s._key NOT IN (SELECT event_id FROM events
                                 WHERE event_id IN (SELECT _key FROM _staged))
            QUALIFY row_number() OVER (PARTITION BY s._key ORDER BY s._row) = 1
            """
        )
        fresh = {int(r[0]) for r in con.execute("SELECT _row FROM _fresh").fetchall()}
        landed.fresh = sorted(fresh)
        landed.duplicates = [
            i for i in range(len(events)) if i not in fresh and i not in landed.quarantined
        ]
        if landed.quarantined:
            con.execute(
                f"""
                INSERT INTO quarantine
                    (source, row_number, raw, reason, ingested_at, format, ingestion_id)
                SELECT ?, n._row, n.raw, n.reason, now(), ?, ?
                FROM (SELECT j._row, j.raw, s._reason AS reason
                      FROM (SELECT _row, {ctx.raw_json_sql()} AS raw FROM _raw) j
                      JOIN _staged s USING (_row) WHERE s._reason IS NOT NULL) n
                WHERE NOT EXISTS (SELECT 1 FROM quarantine q
                                  WHERE q.source = ? AND q.raw = n.raw AND q.reason = n.reason)
                """,
                [SOURCE, FORMAT, self.ingestion_id, SOURCE],
            )
        if fresh:
            fill_vault(con, ctx)  # original ids of new people, as a file load keeps them
            con.execute("ALTER TABLE _fresh DROP COLUMN _row")
            load_event_tables(con, ctx, "_fresh")
            for sid, eid, item, ts, etype in con.execute(
                "SELECT session_id, event_id, item_id, ts, event_type FROM _fresh "
                "WHERE session_id IS NOT NULL AND item_id IS NOT NULL"
            ).fetchall():
                landed.sessions.setdefault(str(sid), []).append(
                    (str(eid), str(item), ts, str(etype))
                )
            landed.user_events = [
                (str(u), str(t), ts)
                for u, t, ts in con.execute(
                    "SELECT user_id, event_type, ts FROM _fresh WHERE user_id IS NOT NULL "
                    "AND event_type IN ('cart', 'refund') ORDER BY ts"
                ).fetchall()
            ]
        self._count(con, len(events), landed)
        con.execute(
            "DROP TABLE IF EXISTS _raw; DROP TABLE IF EXISTS _staged; DROP TABLE IF EXISTS _fresh"
        )
        return landed

    def _count(self, con: duckdb.DuckDBPyConnection, n: int, landed: Landed) -> None:
        """One ``ingestions`` row per service run, its counts raised batch by batch."""
        counts = [
            n,
            len(landed.fresh),
            len(landed.quarantined),
            len(landed.duplicates),
            len(landed.fresh),
        ]
        if not self._registered:
            options = {"pii_policy": self.options.pii_policy, "source": "api"}
            # OR IGNORE: after a rolled-back later batch the row may exist already
            con.execute(
                "INSERT OR IGNORE INTO ingestions (ingestion_id, file, format, target, sha256, "
                "rows_in, rows_loaded, rows_quarantined, duplicates_skipped, events_loaded, "
                "pseudonymized, options, started_at, finished_at) "
                "VALUES (?, ?, ?, 'events', ?, 0, 0, 0, 0, 0, ?, ?, ?, now())",
                [
                    self.ingestion_id,
                    SOURCE,
                    FORMAT,
                    hashlib.sha256(self.ingestion_id.encode()).hexdigest(),
                    self.options.pseudonymize,
                    json.dumps(options),
                    self.started,
                ],
            )
            self._registered = True
        con.execute(
            "UPDATE ingestions SET rows_in = rows_in + ?, rows_loaded = rows_loaded + ?, "
            "rows_quarantined = rows_quarantined + ?, duplicates_skipped = duplicates_skipped + ?, "
            "events_loaded = events_loaded + ?, finished_at = now() WHERE ingestion_id = ?",
            [*counts, self.ingestion_id],
        )

    def rollback(self) -> None:
        """A transaction was rolled back (maybe the one holding the first batch): register
        again on the next batch (a no-op when the row was committed before)."""
        self._registered = False
