"""The contract of a named source format, declared the way a dlt source is.

A format states its reader, the canonical fields it reads (with the source column names it
accepts), its primary key and write disposition, and the time zone of naive timestamps.
``staged_sql`` validates and types ``_raw`` into one row per record with ``_row`` (record
number), ``_key`` (primary key) and ``_reason`` (NULL when the row is good); ``load`` writes
the deduplicated rows (temporary table ``_fresh``) into the canonical tables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import ReaderSpec

WriteDisposition = Literal["append", "merge", "replace"]


@dataclass(frozen=True)
class Field:
    """A canonical field a format reads, and the source column names it accepts."""

    name: str
    sources: tuple[str, ...]
    required: bool = False


class Format(ABC):
    """A named source format. Subclasses set the class attributes and two SQL methods."""

    name: ClassVar[str]
    description: ClassVar[str]
    reader: ClassVar[ReaderSpec] = ReaderSpec()
    fields: ClassVar[tuple[Field, ...]] = ()
    primary_key: ClassVar[str]
    write_disposition: ClassVar[WriteDisposition] = "append"
    target: ClassVar[str] = "events"
    timezone: ClassVar[str | None] = None
    currency: ClassVar[str | None] = None  # ISO 4217 code of money columns, when known
    user_field: ClassVar[str | None] = "user_id"
    #: reader columns holding user ids when no field resolves to them (quarantine protection)
    raw_user_columns: ClassVar[tuple[str, ...]] = ()
    identifier_fields: ClassVar[tuple[str, ...]] = ()
    #: ``staged_sql`` only passes ``_row`` through (no window or value built on it): a
    #: streamed file is then validated on all threads and numbered afterwards
    rows_pass_through: ClassVar[bool] = False
    #: ``load`` changes ``_fresh`` (then it is always a table)
    updates_fresh: ClassVar[bool] = False

    def disposition(self, ctx: Context) -> WriteDisposition:
        """Write disposition for this load (generic files choose by target table)."""
        return self.write_disposition

    def first_row_wins(self, ctx: Context) -> bool:
        """Merge loads: the first row of a repeated key is kept (else the last)."""
        return False

    def fields_for(self, ctx: Context) -> tuple[Field, ...]:
        """Fields to resolve; formats whose fields depend on options override this."""
        return self.fields

    @abstractmethod
    def staged_sql(self, ctx: Context) -> str:
        """SELECT over ``_raw`` with ``_row, _key, _reason`` and the typed canonical columns."""

    def existing_keys_sql(self, ctx: Context) -> str | None:
        """SELECT of ``_key`` values already stored (re-loads of them are duplicates)."""
        return None

    @abstractmethod
    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        """Write ``_fresh`` into canonical tables; returns rows added per table."""
