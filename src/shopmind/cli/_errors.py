"""Every failure of a command as one line naming the fix: exceptions translated to
:class:`CliError` (type, message, hint, exit code), printed as text or, with ``--json``, as JSON.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from pydantic import ValidationError

from shopmind.errors import ConfigError, IngestError, ShopmindError

#: Exit codes: 2 the user can fix it (input, settings, environment), 1 a bug, 130 interrupted.
USER_ERROR = 2
BUG = 1
INTERRUPTED = 130

#: File signature -> (compression, command writing the plain file to stdout).
_COMPRESSED = {
    b"\x1f\x8b": ("gzip", "gunzip -c"),
    b"PK\x03\x04": ("zip", "unzip -p"),
    b"BZh": ("bzip2", "bunzip2 -c"),
    b"\xfd7zXZ\x00": ("xz", "unxz -c"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd -c"),
}
_COMPRESSED_SUFFIXES = {".gz", ".gzip", ".zip", ".bz2", ".xz", ".zst"}
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


@dataclass(frozen=True)
class CliError:
    """What the user sees: ``error: message hint``, or the same as one JSON object."""

    type: str
    message: str
    hint: str = ""
    exit_code: int = USER_ERROR

    def line(self) -> str:
        text = f"{self.message} {self.hint}".strip()
        return " ".join(text.split())  # one line, whatever the source message held

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "message": " ".join(self.message.split()),
                "hint": " ".join(self.hint.split()),
                "exit_code": self.exit_code,
            }
        }


def from_exception(exc: BaseException) -> CliError:
    """The one-line error for ``exc``; unknown exceptions are bugs (exit 1)."""
    if isinstance(exc, IngestError):
        exc = refine_ingest_error(exc)
    if isinstance(exc, ShopmindError) and isinstance(exc.__cause__, duckdb.OutOfMemoryException):
        where = f" while loading {exc.file}" if isinstance(exc, IngestError) and exc.file else ""
        return out_of_memory(exc.__cause__, where)
    if isinstance(exc, ShopmindError):
        return CliError(type(exc).__name__, str(exc.args[0]) if exc.args else "", exc.hint)
    if isinstance(exc, ValidationError):
        if exc.title == "Settings":  # environment variables (shopmind.config.Settings)
            return from_exception(settings_error(exc))
        return from_exception(options_error(exc))
    if isinstance(exc, duckdb.OutOfMemoryException | MemoryError):
        return out_of_memory(exc)
    if isinstance(exc, duckdb.Error):
        # a failed commit can surface as a later "cannot rollback": look down the chain
        for link in _chain(exc):
            if isinstance(link, duckdb.Error) and _environmental(str(link)):
                return _duckdb_io(link)
        if isinstance(exc, duckdb.IOException):
            return _duckdb_io(exc)
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, KeyboardInterrupt):
        return CliError(
            "Interrupted", "interrupted; nothing was committed by the interrupted step.", "", 130
        )
    return CliError(
        "InternalError",
        f"unexpected {type(exc).__name__}: {_first_line(exc)}.",
        "Rerun with SHOPMIND_DEBUG=1 for the traceback and report it.",
        BUG,
    )


def json_requested(argv: list[str]) -> bool:
    """``--json`` anywhere among the options (not after a ``--`` separator)."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def usage_error(exc: Exception) -> CliError:
    """A click usage error (unknown option, missing argument...) as a CliError."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "shopmind"
    return CliError(
        "UsageError",
        str(message),
        f"Run `{command} --help` for the options.",
        int(getattr(exc, "exit_code", USER_ERROR)),
    )


def options_error(exc: ValidationError) -> ShopmindError:
    """A pydantic validation error of a model's or a request's settings (e.g. ``--config``)
    as one line naming each field."""
    parts = []
    for problem in exc.errors():
        field = ".".join(str(p) for p in problem.get("loc", ())) or "value"
        given = problem.get("input")
        shown = f"={given!r}" if isinstance(given, str | int | float) else ""
        parts.append(f"{field}{shown}: {problem.get('msg', 'bad value')}")
    return ShopmindError(
        f"Invalid {exc.title} setting: " + "; ".join(parts) + ".",
        hint="Check the names and values passed with --config or the command's options "
        "(`--help` lists them).",
    )


def settings_error(exc: ValidationError, prefix: str = "SHOPMIND_") -> ConfigError:
    """A pydantic validation error of Settings as a ConfigError naming the variables."""
    parts, hints = [], []
    for problem in exc.errors():
        field = ".".join(str(p) for p in problem.get("loc", ())) or "settings"
        variable = f"{prefix}{field.split('.')[0].upper()}"
        given = problem.get("input")
        shown = f"={given!r}" if isinstance(given, str | int | float) else ""
        parts.append(f"{variable}{shown} is invalid: {problem.get('msg', 'bad value')}")
        hints.append(f"`unset {variable}`")
    return ConfigError(
        "; ".join(parts) + ".",
        hint=f"Set a valid value or remove it ({', '.join(hints)}).",
    )


def out_of_memory(exc: BaseException, where: str = "") -> CliError:
    from shopmind.config import Settings

    settings = [
        f"SHOPMIND_{name.upper()}"
        for name in Settings.model_fields
        if "memory" in name or "thread" in name
    ]
    raise_it = f"raise the limit with {' / '.join(settings)}, " if settings else "free memory, "
    return CliError(
        "OutOfMemoryError",
        f"Ran out of memory{where}: {_first_line(exc)}",
        f"Try again with a smaller input (split the file, or a shorter period), {raise_it}"
        "or run on a machine with more memory.",
    )


def refine_ingest_error(exc: IngestError) -> IngestError:
    """Replace misleading ingest errors: a directory or a compressed file given as input."""
    if not exc.file:
        return exc
    path = Path(exc.file)
    if path.is_dir():
        return IngestError(
            f"{path} is a directory, not a file.",
            file=exc.file,
            hint="Pass one file (CSV/TSV, Parquet or JSON lines); run `shopmind ingest` once "
            "per file to load several.",
        )
    kind = compression(path)
    if kind is not None:
        name, command = kind
        if path.suffix.lower() in _COMPRESSED_SUFFIXES and Path(path.stem).suffix:
            plain = path.with_suffix("")
        else:
            plain = path.with_name(
                f"{Path(path.stem).stem}.plain{Path(path.stem).suffix or '.csv'}"
            )
        return IngestError(
            f"{path} is {name}-compressed; shopmind reads uncompressed files.",
            file=exc.file,
            hint=f"Decompress it first (`{command} {path} > {plain}`), then "
            f"`shopmind ingest {plain}`.",
        )
    return exc


def compression(path: Path) -> tuple[str, str] | None:
    """(name, decompress command) when ``path`` starts with a compressed-file signature."""
    try:
        with path.open("rb") as handle:
            head = handle.read(6)
    except OSError:
        return None
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            return kind
    return None


def _duckdb_io(exc: duckdb.Error) -> CliError:
    text = str(exc)
    holder = _LOCK_HOLDER.search(text)
    if holder:
        return CliError(
            "WorkspaceError",
            f"The workspace database is locked by process {holder['pid']} "
            f"({Path(holder['program']).name}).",
            f"Wait for that command to finish or stop it (`kill {holder['pid']}`), then retry.",
        )
    lowered = text.lower()
    if "permission denied" in lowered or "read-only file system" in lowered:
        return CliError(
            "PermissionError",
            f"Cannot write: {_first_line(exc)}",
            "Make the file and its directory writable, or choose another --workspace.",
        )
    if "no space left" in lowered:
        return CliError("DiskFull", f"Disk full: {_first_line(exc)}", "Free disk space and retry.")
    return CliError(
        "IOError",
        f"I/O error: {_first_line(exc)}",
        "Check the path, its permissions and the free disk space.",
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, oldest last."""
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen


def _environmental(text: str) -> bool:
    lowered = text.lower()
    return bool(_LOCK_HOLDER.search(text)) or any(
        word in lowered for word in ("permission denied", "read-only file system", "no space left")
    )


def _os_error(exc: OSError) -> CliError:
    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or _first_line(exc)
    hints = {
        errno.EISDIR: "Pass a file, not a directory.",
        errno.ENOTDIR: "A part of the path is a file, not a directory; check the path.",
        errno.ENOENT: "Check the path.",
        errno.EACCES: "Make it readable/writable for you, or choose another path.",
        errno.EPERM: "Make it readable/writable for you, or choose another path.",
        errno.EROFS: "The file system is read-only; choose another path.",
        errno.ENOSPC: "Free disk space and retry.",
        errno.EEXIST: "Remove it or choose another path.",
    }
    return CliError(
        type(exc).__name__,
        f"{reason}:{where}." if where else f"{reason}.",
        hints.get(exc.errno or 0, "Check the path and its permissions."),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: What to use instead of a command while ``shopmind serve`` holds the workspace.
SERVICE_ROUTES = {
    "analyze": "Read analytics through the API (GET /v1/analytics/funnel, retention, rfm, trends)",
    "forget": "Erase through the API (POST /v1/privacy/forget, admin key)",
    "export-user": "Export through the API (POST /v1/privacy/export, admin key)",
    "recommend": "Ask the API (GET /v1/users/{id}/recommendations)",
    "risk": "Score through the API (POST /v1/risk/score)",
    "assistant": "Talk through the API (POST /v1/assistant/messages)",
}


def service_holds(exc: BaseException, command: str | None) -> BaseException:
    """``exc`` as the service's own message when ``exc`` is a lock conflict and a running
    ``shopmind serve`` holds that workspace (DuckDB's "wait for that command" misleads for
    a server); otherwise ``exc`` unchanged."""
    from shopmind.errors import WorkspaceError

    locked = next(
        (e.locked_db for e in _chain(exc) if isinstance(e, WorkspaceError) and e.locked_db), None
    )
    if locked is None:
        return exc
    from shopmind.serving.runfile import service_error
    from shopmind.store import Workspace

    hint = SERVICE_ROUTES.get(command or "", "Use the service's API (its /docs lists the routes)")
    return service_error(Workspace(locked.parent), hint) or exc
