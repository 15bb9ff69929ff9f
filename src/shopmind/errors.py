"""Exceptions. Every error a user can cause derives from :class:`ShopmindError`
and says how to fix the problem; the CLI prints its message without a traceback."""

from __future__ import annotations

import re
from pathlib import Path


class ShopmindError(Exception):
    """Root of all shopmind errors."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} {self.hint}".strip() if self.hint else message


class ConfigError(ShopmindError):
    """Settings are missing or unsafe."""


class WorkspaceError(ShopmindError):
    """The workspace is missing, locked or from a newer shopmind. ``locked_db``: the database
    file another process holds, when that is the reason (the CLI names a running service)."""

    locked_db: Path | None = None

    @classmethod
    def locked(cls, message: str, *, db_path: Path, hint: str = "") -> WorkspaceError:
        error = cls(message, hint=hint)
        error.locked_db = db_path
        return error


class IngestError(ShopmindError):
    """A file cannot be loaded. Nothing was written."""

    def __init__(self, message: str, *, file: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.file = file


class MissingColumnError(IngestError):
    """A required column is not in the file."""

    def __init__(self, *, file: str, column: str, found: list[str], fmt: str) -> None:
        shown = ", ".join(found[:20]) + (" ..." if len(found) > 20 else "")
        hint = f"Map it with --map {column}=<source column>, or choose another --format."
        if found and all(re.fullmatch(r"column\d+", name) for name in found):
            hint = (
                "The file has no header line, so its columns are numbered from column0: "
                f"map them, e.g. --map {column}=column0 (one --map per field)."
            )
        if column == "event_type":
            hint += " Without an event-type column, --event-type TYPE (e.g. view) sets it."
            keys = {re.sub(r"[^a-z0-9]", "", name.lower()) for name in found}
            if "orderid" in keys and not keys & {"itemid", "productid", "sku"}:
                hint += " An orders file (one row per order) loads with --table orders."
        super().__init__(
            f"Required column '{column}' missing in {file} for format '{fmt}' (found: {shown}).",
            file=file,
            hint=hint,
        )
        self.column = column
        self.found = found


class AnalyticsError(ShopmindError):
    """An analysis cannot run on this data (empty workspace, unknown step, ...)."""


class QueryError(ShopmindError):
    """A read-only query was refused or failed."""


class QueryRefusedError(QueryError):
    """A query was refused before it ran: it is not one read-only SELECT."""

    def __init__(self, message: str, *, statement: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.statement = statement


class ModelConfigError(ShopmindError, ValueError):
    """A model's hyperparameters are invalid (unknown name, wrong type, out of range)."""


class NotFittedError(ShopmindError):
    """A model was used before `fit`."""


class RecommendError(ShopmindError):
    """A recommendation request cannot be answered as asked (bad k, unknown ids...)."""


class AssistantError(ShopmindError):
    """A customer-service request cannot be handled as asked (bad text, unknown
    conversation, training file without enough intents...)."""
