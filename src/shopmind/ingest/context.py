"""What one ingest run knows: options, resolved source columns, privacy rules, report."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopmind.ingest.extract import Extracted, quote_ident, quote_literal
from shopmind.privacy import protect_pii_sql, pseudonymize_sql


@dataclass(frozen=True)
class IngestOptions:
    """User choices for one load (see ``shopmind ingest --help``)."""

    format: str
    mapping: dict[str, str] = field(default_factory=dict)
    pseudonymize: bool = True
    key: bytes = b""
    pii_policy: str = "hash"
    timezone: str | None = None
    table: str = "events"
    event_type: str | None = None


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

    def has(self, canonical: str) -> bool:
        return canonical in self.resolved

    def col(self, canonical: str) -> str:
        """Quoted source column for a canonical field, or NULL when the source lacks it."""
        source = self.resolved.get(canonical)
        return quote_ident(source) if source else "NULL"

    def col_type(self, canonical: str) -> str:
        source = self.resolved.get(canonical)
        return self.extracted.columns.get(source, "VARCHAR") if source else "VARCHAR"

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
        """SQL storing a source column safely (None: drop it). Used for quarantined raw rows."""
        q = expression or quote_ident(column)
        if column in self.pii_columns:
            return protect_pii_sql(q, self.options.key, self.options.pii_policy)
        if column in self.user_columns:
            return self.user_id(q)
        if column in self.id_columns:
            return self.identifier(q)
        return q

    def raw_json_sql(self) -> str:
        """JSON object of a ``_raw`` row with user ids pseudonymised and PII protected."""
        parts = []
        for column in self.extracted.columns:
            if column.startswith("_"):
                continue
            expr = self.protected(column)
            if expr is not None:
                parts.append(f"{quote_literal(column)}: CAST({expr} AS VARCHAR)")
        return "CAST(to_json(MAP {" + ", ".join(parts) + "}) AS VARCHAR)" if parts else "NULL"

    def rejected_line_sql(self) -> str:
        """A rejected raw line with the fields at user-id / PII positions protected."""
        names = [c for c in self.extracted.columns if not c.startswith("_")]
        sensitive = {
            i + 1: self.protected(c, "x")
            for i, c in enumerate(names)
            if c in self.user_columns or c in self.pii_columns or c in self.id_columns
        }
        if not sensitive:
            return "raw"
        delim = quote_literal(self.extracted.delimiter or ",")
        cases = " ".join(
            f"WHEN i = {i} THEN {'NULL' if expr is None else expr}" for i, expr in sensitive.items()
        )
        split = (
            f"string_split(raw, {delim})"
            if delim != "' '"
            else "regexp_split_to_array(raw, '\\s+')"
        )
        return (
            f"array_to_string(list_transform({split}, lambda x, i: "
            f"coalesce(CASE {cases} ELSE x END, '')), {delim})"
        )
