"""Which commands the audit trail records, and the one hook that records them.

Issue 14: every command that reads personal data or changes data appends ``(time,
principal, role, action, target, outcome)`` to the hash-chained ``audit_log``
(:func:`shopmind.store.audit.record`). :data:`AUDITED` is the one table of those commands;
:func:`run` (called by ``shopmind.cli.app.main``) runs the command line and afterwards
appends one entry: the command path as the action, a target made only of the parameters the
table names (file names without their folders, user ids pseudonymised with the workspace's
key, free text and SQL reduced to their size and the tables named) and the outcome (``ok``,
or ``error <type>`` with the error type the user saw).

Read-only listings (``info``, ``--help``, ``audit verify``), usage errors (nothing ran) and a
workspace that does not exist (nothing to audit, and creating one would be a side effect)
are not recorded. Recording never changes a command's result: when the entry cannot be
written (e.g. ``shopmind serve`` holds the workspace) one warning line goes to stderr.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer


@dataclass(frozen=True)
class Audited:
    """An audited command: the parameters that make its target, and whether the command
    writes its own entry (in its own transaction: then only failures are recorded here)."""

    target: tuple[str, ...] = ()
    self_audited: bool = False
    #: the command never writes the workspace: its entry goes to the journal (no write lock,
    #: so concurrent readers never collide), chained by the next write
    reads_only: bool = False


#: Command path -> how it is audited. The action recorded is the command path.
AUDITED: dict[str, Audited] = {
    "ingest": Audited(("path", "format", "table")),
    "simulate": Audited(("users", "days", "seed")),
    "sql": Audited(("query",), reads_only=True),
    "profile": Audited(("user_id",), reads_only=True),
    "report": Audited(("out",)),
    "analyze rfm": Audited(("as_of",)),
    "analyze profiles": Audited(),
    "analyze segments": Audited(("k", "seed")),
    "clv fit": Audited(("model",)),
    "clv predict": Audited(("out",)),
    "propensity train": Audited(("target", "data")),
    "propensity score": Audited(("out",)),
    "propensity explain": Audited(("user_id",), reads_only=True),
    "uplift train": Audited(("data",)),
    "uplift score": Audited(("data", "out")),
    "campaign plan": Audited(("campaign", "out")),
    "recommend train": Audited(("model",)),
    "recommend batch": Audited(("out", "model")),
    "items exclude": Audited(("items",)),
    "items include": Audited(("items",)),
    "risk train": Audited(("data", "mode")),
    "risk score": Audited(("data", "out", "queue")),
    "risk rings": Audited(reads_only=True),
    "risk review list": Audited(("status",), reads_only=True),
    "risk review confirm": Audited(("review_id",)),
    "risk review clear": Audited(("review_id",)),
    "assistant train": Audited(("data",)),
    "assistant ask": Audited(("text", "conversation", "user")),
    "assistant reply": Audited(("text", "conversation")),
    "assistant show": Audited(("conversation",), reads_only=True),
    "assistant conversations": Audited(("status",), reads_only=True),
    "assistant export": Audited(("out",)),
    "assistant faq load": Audited(("file",)),
    "keys create": Audited(("role",), self_audited=True),
    "keys revoke": Audited(("key_id",), self_audited=True),
    "keys list": Audited(self_audited=True),
    "identity link": Audited(("links", "force")),
    "identity undo": Audited(("merge_id",)),
    "identity show": Audited(("user_id",), reads_only=True),
    "identity merges": Audited(reads_only=True),
    "forget": Audited(("dry_run", "compact"), self_audited=True),  # never the erased person
    "export-user": Audited(("user", "out"), self_audited=True),
    "retention": Audited(("older_than_days", "as_of", "dry_run", "compact"), self_audited=True),
    "audience build": Audited(("name", "segment", "scores", "top")),
    "audience export": Audited(("name", "out", "reveal"), self_audited=True),
    "backup": Audited(("out",), self_audited=True),
    # journaled, chained by the next write: the restored tables stay equal to the source's
    "restore": Audited(("file",), reads_only=True),
    "rotate-key": Audited(self_audited=True),
    "compact": Audited(self_audited=True),
    "dp release segments": Audited(("epsilon", "by", "lower", "upper")),
    "dp release funnel": Audited(("epsilon", "steps")),
    "dp release retention": Audited(("epsilon", "period", "periods")),
    "dp budget": Audited(("set_",)),
}

#: Parameters holding a customer id: stored pseudonymised, never as given.
USER_PARAMS = frozenset({"user_id", "user"})
#: Parameters holding free text or SQL: only their size (and the tables SQL names) is kept.
TEXT_PARAMS = frozenset({"text", "query"})
MAX_VALUE = 80


def run(app: typer.Typer, argv: list[str]) -> Any:
    """``app(standalone_mode=False)``, then the audit entry of the command line ``argv``.
    Returns or raises exactly what the app did."""
    try:
        result = app(standalone_mode=False)
    except BaseException as exc:
        outcome = _outcome(exc)
        if outcome is not None and not _wrong_key(exc):
            _after(app, argv, outcome, failed=outcome != "ok")
        raise
    failed = isinstance(result, int) and not isinstance(result, bool) and result != 0
    _after(app, argv, f"exit {result}" if failed else "ok", failed=failed)
    return result


def _opens(workspace: Any) -> bool:
    """Whether the workspace key given opens the database (a failed command may have
    stopped before trying: ``sql "delete ..."`` is refused first)."""
    from shopmind.errors import WorkspaceError

    try:
        with workspace.connect(read_only=True):
            return True
    except WorkspaceError as exc:
        return not str(exc).startswith("Wrong key:")


def _wrong_key(exc: BaseException) -> bool:
    """A workspace key that opens nothing: no entry, since a line sealed with that key
    would be unreadable to the owner (and broke their next backup); the error says why."""
    from shopmind.errors import WorkspaceError

    return isinstance(exc, WorkspaceError) and str(exc).startswith("Wrong key:")


def _outcome(exc: BaseException) -> str | None:
    """``error <type>`` as the user sees it; None for usage errors (nothing ran)."""
    from shopmind.cli._errors import from_exception

    if isinstance(exc, typer.Exit | SystemExit):
        code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
        return "ok" if code in (0, None) else f"exit {code}"
    if isinstance(exc, typer.Abort | KeyboardInterrupt):
        return "error Interrupted"
    if hasattr(exc, "show") and hasattr(exc, "exit_code"):
        return None
    return f"error {from_exception(exc).type}" if isinstance(exc, Exception) else None


def _after(app: typer.Typer, argv: list[str], outcome: str, *, failed: bool) -> None:
    """Record the entry; any failure here is one warning line, never the command's result."""
    if _first_word(argv) not in {path.split()[0] for path in AUDITED}:
        return  # info, --version, audit, serve...: no parsing, no cost
    try:
        parsed = resolve(app, argv)
        if parsed is None:
            return
        path, params, workspace_option = parsed
        spec = AUDITED.get(path)
        if spec is None:
            return
        if spec.self_audited and params.get("dry_run"):
            # a dry run changes nothing, so the command writes no entry of its own, but it
            # read what a request would remove: journaled here (its target says dry_run)
            spec = Audited(spec.target, reads_only=True)
        elif spec.self_audited and not failed:
            return
        record_command(path, spec, params, workspace_option, outcome, failed=failed)
    except Exception as exc:  # the command's own result stands
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        print(f"warning: audit entry not written: {text}", file=sys.stderr)


def _first_word(argv: list[str]) -> str | None:
    """The command name: the first word that is not a global option or its value."""
    words = iter(argv)
    for word in words:
        if word in ("--workspace", "-w"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


#: Words that ask for help (unless an option takes them as its value: ``--out -h``).
HELP_WORDS = ("--help", "-h")


def resolve(app: typer.Typer, argv: list[str]) -> tuple[str, dict[str, Any], Any] | None:
    """(command path, its parameters, the --workspace option) of ``argv``, parsed as the app
    parses it (without running callbacks); None for help or an incomplete command line.

    ``-h`` / ``--help`` asks for help unless it was read as an option's value (``--out -h``
    names a file called ``-h``: that command runs, so it is audited and checked)."""
    parsed = _parse(app, argv)
    if parsed is None:
        return None
    values = [str(v) for v in (*parsed[1].values(), parsed[2])]
    # each help word of the command line must be some option's value, else help was asked
    if any(argv.count(word) > values.count(word) for word in HELP_WORDS):
        return None
    return parsed


def _parse(app: typer.Typer, argv: list[str]) -> tuple[str, dict[str, Any], Any] | None:
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("shopmind", list(argv), resilient_parsing=True)
    workspace_option = ctx.params.get("workspace")
    names: list[str] = []
    while hasattr(command, "commands"):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            return None
        name, command, remaining = command.resolve_command(ctx, rest)
        if command is None or name is None:
            return None
        names.append(name)
        ctx = command.make_context(name, remaining, parent=ctx, resilient_parsing=True)
    return " ".join(names), dict(ctx.params), workspace_option


def record_command(
    path: str,
    spec: Audited,
    params: dict[str, Any],
    workspace_option: Any,
    outcome: str,
    *,
    failed: bool,
) -> None:
    from shopmind.config import Settings
    from shopmind.store import Workspace
    from shopmind.store.audit import journal, record
    from shopmind.store.encryption import is_encrypted

    settings = Settings()
    root = Path(workspace_option) if workspace_option is not None else settings.workspace
    workspace = Workspace(root, key=settings.encryption_key())
    if failed and not workspace.exists():
        return  # nothing was read or changed there; do not create a workspace to say so
    if failed and workspace.key is None and is_encrypted(root):
        return  # without its key nothing could be read there (the error says so)
    if failed and workspace.key is not None and is_encrypted(root) and not _opens(workspace):
        return  # a wrong key read nothing, and a line sealed with it is unreadable to the owner
    from shopmind.serving.runfile import running

    service = running(workspace)
    if service is not None:  # its writer owns the workspace (and audits the API's calls)
        raise RuntimeError(
            f"the shopmind service (pid {service['pid']}) holds the workspace; "
            f"`{path}` ({outcome}) is not in the audit trail"
        )
    key = settings.optional_key(root)
    target = describe(spec, params, lambda user: _pseudonym(user, key))
    if spec.reads_only:
        journal(workspace, path, target, outcome)
    else:
        _record_waiting(lambda: record(workspace, path, target, outcome))


#: Seconds to wait, in total, for another command's hold on the workspace to end.
LOCK_WAIT = 3.0


def _record_waiting(write: Callable[[], None]) -> None:
    """Write; while another process briefly holds the workspace (e.g. a concurrent command
    writing its own entry), retry with backoff up to :data:`LOCK_WAIT` seconds."""
    from shopmind.errors import WorkspaceError

    delay, waited = 0.02, 0.0
    while True:
        try:
            write()
            return
        except WorkspaceError as exc:
            if "locked" not in str(exc) or waited >= LOCK_WAIT:
                raise
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.5)


def describe(spec: Audited, params: dict[str, Any], pseudonym: Callable[[str], str]) -> str | None:
    """The target: the named parameters, none of them personal."""
    parts = []
    for name in spec.target:
        value = params.get(name)
        if value is None or value is False or value == () or value == []:
            continue
        parts.append(f"{name}={_value(name, value, pseudonym)}")
    return " ".join(parts) or None


def _value(name: str, value: Any, pseudonym: Callable[[str], str]) -> str:
    if name in USER_PARAMS:
        return pseudonym(str(value))
    if name == "query":
        return _sql_target(str(value))
    if name in TEXT_PARAMS:
        return f"<{len(str(value))} chars>"
    if isinstance(value, Path):
        return value.name[:MAX_VALUE]
    if isinstance(value, list | tuple):
        return f"<{len(value)} values>"
    if hasattr(value, "value"):  # enums
        value = value.value
    return str(value)[:MAX_VALUE].replace(" ", "_")


def _sql_target(query: str) -> str:
    """The tables a query names and its size, never its literals (they may be user ids)."""
    from shopmind.store.workspace import CANONICAL_TABLES

    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query)}
    tables = [t for t in (*CANONICAL_TABLES, "audit_log", "api_keys") if t in words]
    return f"tables:{','.join(tables) or '-'}:<{len(query)} chars>"


def _pseudonym(user_id: str, key: bytes | None) -> str:
    """The user id as the workspace stores it pseudonymised; without a key, a plain hash."""
    if key is not None:
        from shopmind.privacy import pseudonymize

        return pseudonymize(user_id, key)
    return "h_" + hashlib.sha256(user_id.encode()).hexdigest()[:20]
