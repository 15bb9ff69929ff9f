"""What one ingest run knows: options, resolved source columns, privacy rules, report."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopmind.ingest.extract import Extracted, quote_ident, quote_literal
from shopmind.ingest.sqlparts import id_text, text
from shopmind.privacy import protect_pii_sql, pseudonymize_sql, redact_text_sql


@dataclass(frozen=True)
class IngestOptions:
    """User choices for one load (see ``shopmind ingest --help``)."""

    format: str
    mapping: dict[str, str] = field(default_factory=dict)
    pseudonymize: bool = True
    key: bytes = b""
    pii_policy: str = "hash"
    timezone: str | None = None
    currency: str | None = None  # ISO 4217 code of money columns (default: the format's)
    table: str = "events"
    event_type: str | None = None
    event_map: dict[str, str] = field(default_factory=dict)  # source value -> event type
    keep_attributes: tuple[str, ...] = ()  # extra columns declared non-personal
    decimal: str = "."  # decimal separator of numbers written as text
    date_format: str | None = None  # dmy | mdy | a strptime pattern (None: guessed per column)
    year: int | None = None  # the year of dates written without one (``--date-format '%m%d'``)
    day_one: str | None = None  # ISO date of day 1 for ``--date-format days``
    encoding: str | None = None  # text files not in UTF-8 (e.g. latin-1, cp1252, gbk)
    sheet: str | None = None  # spreadsheets: the one sheet to read (default: see spreadsheet.py)
    vault_key: str | None = None  # SHOPMIND_VAULT_KEY (else derived from ``key``)
    format_options: dict[str, str] = field(default_factory=dict)  # e.g. campaign: --sent-at


@dataclass
class IngestReport:
    """Outcome of one ingest; ``rows_in = rows_loaded + rows_quarantined + duplicates_skipped``."""

    ingestion_id: str
    file: str
    format: str
    target: str
    sha256: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    events_loaded: int = 0
    already_ingested: bool = False
    pseudonymized: bool = True
    tables: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    pii_columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def reconciles(self) -> bool:
        return self.rows_in == self.rows_loaded + self.rows_quarantined + self.duplicates_skipped


_NO_TEXT_TYPES = ("TIMESTAMP", "DATE", "TIME", "BOOLEAN")


@dataclass
class Context:
    """Resolved view of the source for a format's SQL: canonical name -> source column."""

    path: Path
    options: IngestOptions
    extracted: Extracted
    sha256: str
    ingestion_id: str
    resolved: dict[str, str] = field(default_factory=dict)
    user_columns: set[str] = field(default_factory=set)  # source columns holding user ids
    id_columns: set[str] = field(default_factory=set)  # other identifiers (device ids)
    pii_columns: dict[str, str] = field(default_factory=dict)  # source column -> kind
    # extra (not canonical) columns -> "keep" (declared or judged non-personal), "hash", "drop"
    undeclared: dict[str, str] = field(default_factory=dict)
    #: canonical timestamp field -> strptime patterns of its day/month dates (see dates.py)
    date_formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # guesses the report states (date orders)
    #: ISO 4217 code of this load's money (``--currency``, else the format's)
    currency: str | None = None
    #: earlier loads of the same file whose quarantined lines this one reads again
    replaces_quarantine_of: list[str] = field(default_factory=list)
    #: ids written as floats read as whole numbers (workspace setting, migration 14)
    whole_number_ids: bool = True
    #: the file's (size, mtime ns, inode) before it was first read; checked before commit
    stamp: tuple[int, int, int] | None = None
    #: a table whose ``pseudo`` column holds exactly the user ids of ``_fresh`` (set when
    #: ``_fresh`` is every good staged row), so users need no pass over the events
    fresh_user_ids: str | None = None

    def has(self, canonical: str) -> bool:
        return canonical in self.resolved

    def col(self, canonical: str) -> str:
        """Quoted source column for a canonical field, or NULL when the source lacks it."""
        source = self.resolved.get(canonical)
        return quote_ident(source) if source else "NULL"

    def col_type(self, canonical: str) -> str:
        source = self.resolved.get(canonical)
        return self.extracted.columns.get(source, "VARCHAR") if source else "VARCHAR"

    def formats_of(self, canonical: str) -> tuple[str, ...]:
        """strptime patterns for a timestamp field's day/month dates (empty: ISO only)."""
        return self.date_formats.get(canonical, ())

    def id_text(self, canonical: str) -> str:
        """A source id column as text, one spelling per id: ``266079.0`` read as ``266079``
        (:func:`~shopmind.ingest.sqlparts.id_text`), except in a workspace that already held
        loads read as written (migration 14)."""
        if not self.whole_number_ids:
            return text(self.col(canonical))
        return id_text(self.col(canonical), self.col_type(canonical))

    def user_id(self, expression: str) -> str:
        """A user id as stored: keyed pseudonym when pseudonymisation is on."""
        if not self.options.pseudonymize:
            return expression
        return pseudonymize_sql(expression, self.options.key, prefix="u_")

    def content_key(self, prefix: str, *expressions: str) -> str:
        """Deterministic row id from values; keyed (salted) when pseudonymising, so an id
        built from a raw user id cannot be reversed by trying candidate ids."""
        parts = ", ".join(f"coalesce(CAST({e} AS VARCHAR), '\\N')" for e in expressions)
        salt = ""
        if self.options.pseudonymize:
            salt = hashlib.sha256(self.options.key + b"|row-key").hexdigest()[:32]
        return f"'{prefix}' || md5(concat_ws('|', '{salt}', {parts}))"

    def identifier(self, expression: str) -> str:
        """A non-user identifier that can single a person out (device id): pseudonymised too."""
        if not self.options.pseudonymize:
            return expression
        return pseudonymize_sql(expression, self.options.key, prefix="d_")

    def protected(self, column: str, expression: str | None = None) -> str | None:
        """SQL storing a source column safely (None: drop it): user and device ids as
        pseudonyms, direct PII and personal-looking extra columns hashed or dropped by policy,
        everything else through the free-text redactor."""
        q = expression or quote_ident(column)
        if column in self.user_columns:
            return self.user_id(q)
        if column in self.id_columns:
            return self.identifier(q)
        if column in self.pii_columns:
            return protect_pii_sql(
                q, self.options.key, self.options.pii_policy, self.pii_columns[column]
            )
        policy = self.undeclared.get(column, "keep")
        if policy != "keep":
            return protect_pii_sql(q, self.options.key, policy)
        kind = self.extracted.columns.get(column, "VARCHAR").upper()
        if kind.startswith(_NO_TEXT_TYPES):  # a date or a flag cannot hold contact details
            return q
        return redact_text_sql(q)

    def _source_columns(self) -> list[str]:
        return [c for c in self.extracted.columns if not c.startswith("_")]

    def _json_of(self, value_of: dict[str, str]) -> str:
        parts = []
        for column, value in value_of.items():
            expr = self.protected(column, value)
            if expr is not None:
                parts.append(f"{quote_literal(column)}: CAST({expr} AS VARCHAR)")
        return "CAST(to_json(MAP {" + ", ".join(parts) + "}) AS VARCHAR)" if parts else "'{}'"

    def raw_json_sql(self) -> str:
        """JSON object of a ``_raw`` row, every value protected (see :meth:`protected`)."""
        return self._json_of({c: quote_ident(c) for c in self._source_columns()})

    def raw_hash_sql(self, expression: str) -> str:
        """Keyed hash of a rejected record's raw text: all that is kept of a record that
        cannot be split into the file's columns."""
        return pseudonymize_sql(expression, self.options.key, prefix="q_")

    def rejected_json_sql(self) -> str:
        """JSON for a ``_rejects`` row: its fields, protected, when the record splits into
        exactly the file's columns in the dialect of good rows; else only a keyed hash."""
        names = self._source_columns()
        hashed = f"json_object('raw_hash', {self.raw_hash_sql('raw')})::VARCHAR"
        if not self.extracted.splittable or not names:
            return hashed
        fields = self._json_of({c: f"fields[{i + 1}]" for i, c in enumerate(names)})
        return (
            f"CASE WHEN fields IS NOT NULL AND len(fields) = {len(names)} THEN {fields} "
            f"ELSE {hashed} END"
        )
