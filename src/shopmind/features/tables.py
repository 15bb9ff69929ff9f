"""Where analytics and features run: Ibis over the workspace's DuckDB file, or over Spark.

Every analytic is an Ibis expression built from canonical tables, so the same code runs on
DuckDB (default, embedded) and on PySpark (``spark_tables``) when a shop outgrows one machine.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.expr.types import IntegerValue, Table, TimestampValue

from shopmind.errors import AnalyticsError, WorkspaceError
from shopmind.store import Workspace


@dataclass
class Tables:
    """The canonical tables of one backend, as Ibis tables."""

    backend: Any
    tables: Mapping[str, Table]
    #: the zone days, weeks and months are read in (``reporting_timezone``)
    timezone: str = "UTC"
    _event_types: frozenset[str] | None = field(default=None, init=False, repr=False)
    _dates_only: bool | None = field(default=None, init=False, repr=False)

    def with_tables(self, tables: Mapping[str, Table]) -> Tables:
        """The same backend and reporting zone over other tables (sessions, persons, a
        cutoff)."""
        return Tables(self.backend, tables, self.timezone)

    def local(self, ts: Any) -> pd.Timestamp:
        """A timestamp the backend returned as a naive wall-clock time in ``timezone``."""
        stamp = pd.Timestamp(ts)
        return stamp.tz_convert(self.timezone).tz_localize(None) if stamp.tzinfo else stamp

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def events(self) -> Table:
        """Events, refusing an empty table with a hint on what to ingest."""
        if not self.event_types():
            orders = int(self.tables["orders"].count().execute()) if "orders" in self.tables else 0
            if orders:  # e.g. a retention run removed the events and kept the orders
                raise AnalyticsError(
                    f"The workspace has no events to analyse, only {orders:,} orders (the "
                    "analyses read events; a retention run may have removed them).",
                    hint="Load events again (`shopmind ingest FILE --format NAME`); "
                    "`shopmind info` shows what is stored.",
                )
            raise AnalyticsError(
                "The workspace has no events to analyse.",
                hint="Load some first: `shopmind ingest FILE --format NAME` "
                "(see `shopmind formats`) or `shopmind simulate`.",
            )
        return self.tables["events"]

    def event_types(self) -> frozenset[str]:
        """Event types present (queried once per Tables)."""
        if self._event_types is None:
            events = self.tables["events"]
            found = events.select("event_type").distinct().execute()["event_type"]
            self._event_types = frozenset(str(v) for v in found)
        return self._event_types

    def dates_only(self) -> bool:
        """Whether every event time is a midnight of the reporting zone: dates without a time
        of day (CDNOW's YYYYMMDD), where sessions, lengths and hours mean nothing (queried
        once per Tables: the report's trends and retention ask several times)."""
        if self._dates_only is None:
            events = self.tables["events"]
            timed = events.filter(events.ts != events.ts.truncate("D")).count().execute()
            self._dates_only = int(timed) == 0 and int(events.count().execute()) > 0
        return self._dates_only

    def require_event_types(self, names: Sequence[str], what: str = "event type") -> None:
        """Refuse names that are not event types of the data, listing those present."""
        from shopmind.store.workspace import EVENT_TYPES

        present = self.event_types()
        unknown = [n for n in names if n not in EVENT_TYPES]
        if unknown:
            raise AnalyticsError(
                f"Unknown {what}(s): {', '.join(unknown)}.",
                hint=f"Event types present: {', '.join(sorted(present))}.",
            )
        absent = list(dict.fromkeys(n for n in names if n not in present))
        if absent:  # CDNOW's purchases alone: a view step is known, just not in this data
            raise AnalyticsError(
                f"This data has no {', '.join(absent)} events, so the {what}(s) cannot be counted.",
                hint=f"Event types present: {', '.join(sorted(present))}; choose among them "
                "(e.g. retention --start/--return, funnel --steps).",
            )


def session_only(tables: Tables) -> bool:
    """Whether events carry session ids but no user id at all (a clicks log such as
    YOOCHOOSE or Diginetica): per-user analyses then count sessions."""
    events = tables["events"]
    row = events.aggregate(
        users=events.user_id.count(), sessions=events.session_id.count()
    ).execute()
    return int(row["users"].iloc[0]) == 0 and int(row["sessions"].iloc[0]) > 0


ANALYTIC_TABLES = ("events", "users", "items", "orders")


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.timestamp) -> dt.int64: ...


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_epoch_us(ts: dt.timestamp) -> dt.int64: ...


def epoch_us(ts: TimestampValue) -> IntegerValue:
    """Microseconds since 1970-01-01 UTC, as int64, on the expression's backend.

    Ibis's ``epoch_seconds`` first casts to a naive local timestamp, which on DuckDB is an ICU
    time-zone conversion (about 0.18 s of CPU per million rows against 0.01 s, and its result
    depends on the session time zone); ``epoch_us`` (DuckDB) and ``unix_micros`` (Spark) read
    the stored instant.
    """
    backend = ibis.get_backend(ts).name
    if backend == "duckdb":
        return _duckdb_epoch_us(ts)
    if backend == "pyspark":
        return _spark_epoch_us(ts)
    return (ts.epoch_seconds() * 1_000_000).cast("int64")


def epoch_seconds(ts: TimestampValue) -> IntegerValue:
    """Whole seconds since 1970-01-01 UTC (rounded down), as int64; see :func:`epoch_us`."""
    return epoch_us(ts) // 1_000_000


def reporting_timezone() -> str:
    """The IANA zone analytics read days, weeks, months and hours in: ``SHOPMIND_TIMEZONE``
    (e.g. ``Asia/Shanghai`` for a shop whose day starts at midnight China time), else UTC."""
    zone = os.environ.get("SHOPMIND_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(zone)
        if not _ZONE_NAME.fullmatch(zone) or zone.startswith(("posix", "right/")):
            raise ValueError(zone)
        if not _duckdb_knows(zone):
            raise ValueError(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkspaceError(
            f"SHOPMIND_TIMEZONE={zone!r} is not a time zone.",
            hint="Set an IANA name such as Europe/London or Asia/Shanghai, or unset it for UTC.",
        ) from None
    return zone


#: IANA zone names: letters, digits, ``_ + - /`` (never a quote: the name goes into SET)
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-/]*")


@functools.lru_cache(maxsize=16)
def _duckdb_knows(zone: str) -> bool:
    """Whether DuckDB (ICU) accepts the zone name (Python's zoneinfo also takes ``localtime``
    or ``right/UTC``, which DuckDB refuses)."""
    with duckdb.connect() as con:
        try:
            con.execute(f"SET TimeZone = '{zone}'")
        except duckdb.Error:
            return False
    return True


@contextmanager
def duckdb_tables(workspace: Workspace) -> Iterator[Tables]:
    """Read-only Ibis tables over the workspace file, periods in ``reporting_timezone``."""
    if not workspace.exists():
        raise WorkspaceError(
            f"No workspace at {workspace.root}.",
            hint="Create one with `shopmind ingest FILE --format NAME` or `shopmind simulate`.",
        )
    zone = reporting_timezone()
    with workspace.connect(read_only=True) as raw:  # plain or encrypted alike
        yield ibis_tables(raw, zone)


def ibis_tables(raw: duckdb.DuckDBPyConnection, zone: str | None = None) -> Tables:
    """Ibis tables over an open DuckDB connection of the workspace; the connection's session
    then reads periods in ``zone`` (default ``reporting_timezone``)."""
    zone = zone or reporting_timezone()
    con = ibis.duckdb.from_connection(raw)
    raw.execute(f"SET TimeZone = '{zone}'")  # after Ibis, which sets UTC on connecting
    return Tables(con, {name: con.table(name) for name in ANALYTIC_TABLES}, zone)


def spark_tables(session: Any, parquet_files: Mapping[str, Path]) -> Tables:
    """Ibis tables on a Spark session, read from Parquet exports of the canonical tables
    (the session reads periods in ``reporting_timezone``, as DuckDB does)."""
    zone = reporting_timezone()
    session.conf.set("spark.sql.session.timeZone", zone)
    con = ibis.pyspark.connect(session)
    tables = {}
    for name, path in parquet_files.items():
        session.read.parquet(str(path)).createOrReplaceTempView(name)
        tables[name] = con.table(name)
    return Tables(con, tables, zone)


def export_parquet(workspace: Workspace, folder: Path) -> dict[str, Path]:
    """Write the analytic tables to Parquet (for Spark or other engines)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    with workspace.connect(read_only=True) as con:
        for name in ANALYTIC_TABLES:
            path = folder / f"{name}.parquet"
            columns = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
            keep = ", ".join(c for c in columns if c not in {"attributes"})
            con.execute(f"COPY (SELECT {keep} FROM {name}) TO '{path}' (FORMAT parquet)")
            out[name] = path
    return out


__all__ = [
    "ANALYTIC_TABLES",
    "AnalyticsError",
    "Tables",
    "duckdb_tables",
    "epoch_seconds",
    "epoch_us",
    "export_parquet",
    "spark_tables",
]
