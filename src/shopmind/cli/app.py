"""The ``shopmind`` command: global options and the sub-commands of each stage."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from shopmind import __version__
from shopmind.cli import audited
from shopmind.cli._errors import (
    BUG,
    CliError,
    from_exception,
    json_requested,
    service_holds,
    settings_error,
    usage_error,
)
from shopmind.cli._output import print_error
from shopmind.cli.state import State
from shopmind.config import Settings

#: Command modules, in the order of ``--help``; each has ``register(app)``.
COMMANDS = (
    "ingest",
    "simulate",
    "info",
    "analyze",
    "clv",
    "profile",
    "report",
    "uplift",
    "abtest",
    "propensity",
    "campaign",
    "recommend",
    "assistant",
    "items",
    "serve",
    "risk",
    "keys",
    "audit",
    "backup",
    "privacy",
    "audience",
    "identity",
    "dp",
    "pii",
)
#: Commands that run with only their own module imported (start-up time of big loads).
_LIGHT = ("ingest",)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shopmind {__version__}")
        raise typer.Exit()


def main_options(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace directory (default ./workspace, or $SHOPMIND_WORKSPACE).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Global options shared by every command."""
    try:
        settings = Settings()
    except ValidationError as exc:  # a bad SHOPMIND_* variable: name it and the fix
        raise settings_error(exc) from None
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    ctx.obj = State(settings=settings)


def build_app(commands: Iterable[str] = COMMANDS) -> typer.Typer:
    """The ``shopmind`` app with the sub-commands of these command modules."""
    new = typer.Typer(
        name="shopmind",
        help="Turn an online shop's user data into value. Start with `shopmind simulate` or "
        "`shopmind ingest FILE --format NAME`, then `shopmind info`.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        # every command's context inherits these: `-h` is help everywhere, as --help
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    new.callback()(main_options)
    for name in commands:
        importlib.import_module(f"shopmind.cli.{name}").register(new)
    _one_line_listings(new)
    return new


def _one_line_listings(app: typer.Typer) -> None:
    """Command lists in ``--help`` show each command's first docstring paragraph, and a
    command's own help its whole docstring; Typer's rich help keeps the docstring's line
    breaks (a ragged column, sentences cut mid-way at 80 columns), so each paragraph is
    joined into one line that the terminal wraps (list items keep their own lines)."""
    for info in app.registered_commands:
        text = info.help or (inspect.getdoc(info.callback) if info.callback else None)
        if not text:
            continue
        if info.short_help is None:
            info.short_help = " ".join(text.split("\n\n")[0].split())
        if info.help is None:
            info.help = "\n\n".join(_joined(p) for p in text.split("\n\n"))
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _one_line_listings(group.typer_instance)


def _joined(paragraph: str) -> str:
    """A docstring paragraph as one line, unless it is a list or indented (kept as written)."""
    lines = paragraph.splitlines()
    if any(line.lstrip().startswith(("- ", "* ")) or line.startswith(" ") for line in lines):
        return paragraph
    return " ".join(paragraph.split())


_full_app: typer.Typer | None = None


def full_app() -> typer.Typer:
    """The app with every command (built once)."""
    global _full_app
    if _full_app is None:
        _full_app = build_app()
    return _full_app


def __getattr__(name: str) -> Any:
    if name == "app":  # ``from shopmind.cli.app import app``: every command
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_of(argv: list[str]) -> str | None:
    """The sub-command named on the command line (after the global options)."""
    values = iter(argv)
    for arg in values:
        if arg in ("--workspace", "-w"):
            next(values, None)
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    """Entry point: runs the app; every failure prints one line naming the fix, no traceback.

    With ``--json`` anywhere on the command line the error is also printed as one JSON object
    on stdout, ``{"error": {"type", "message", "hint", "exit_code"}}`` (see docs/cli-errors.md).
    """
    as_json = json_requested(sys.argv[1:])
    command = _command_of(sys.argv[1:])
    # a light command imports only its own module (no models, no pandas): faster start-up
    app = build_app([command]) if command in _LIGHT else full_app()
    try:
        refuse_plain_export(app, sys.argv[1:])
        code = audited.run(app, sys.argv[1:])  # audits the commands of cli/audited.py
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (typer.Abort, KeyboardInterrupt):
        raise SystemExit(_report(from_exception(KeyboardInterrupt()), as_json)) from None
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # usage errors
            if not as_json:
                exc.show()
                raise SystemExit(exc.exit_code) from None
            raise SystemExit(_report(usage_error(exc), as_json)) from None
        error = from_exception(service_holds(exc, command))
        if error.exit_code == BUG and os.environ.get("SHOPMIND_DEBUG"):
            traceback.print_exc()
        raise SystemExit(_report(error, as_json)) from None
    # typer.Exit(code) raised inside a command comes back as the return value
    if isinstance(code, int) and not isinstance(code, bool) and code:
        raise SystemExit(code)


#: Commands whose ``--out`` file is sealed like the workspace (the others write it plain):
#: ``backup`` seals its archive, ``report`` writes through ``encryption.write_file``.
SEALED_OUT = frozenset({"backup", "report"})


def refuse_plain_export(app: typer.Typer, argv: list[str]) -> None:
    """Refuse ``--out`` inside an encrypted workspace's folder (this command's workspace or
    any other): the export (customer ids, scores, personal rows) would lie there in plain
    text next to the sealed files, and ``rotate-key`` would not touch it. Checked before the
    command runs (nothing written)."""
    try:
        parsed = audited.resolve(app, argv)
        if parsed is None:
            return
        path, params, _ = parsed
        out = params.get("out")
        if not isinstance(out, Path) or path in SEALED_OUT:
            return
        resolved = out.expanduser().resolve()
    except Exception:  # the command itself reports a bad command line or setting
        return
    from shopmind.store.encryption import encrypted_root

    # the same rule that seals the workspace's own files there
    root = encrypted_root(resolved)
    if root is not None:
        from shopmind.errors import WorkspaceError

        raise WorkspaceError(
            f"--out {out} is inside the encrypted workspace {root}: it would be written there "
            "in plain text.",
            hint=f"Write it outside the workspace folder (plain, yours to protect), e.g. "
            f"--out ~/{out.name}.",
        )


def _report(error: CliError, as_json: bool) -> int:
    print_error(error.line(), error.to_dict() if as_json else None)
    return error.exit_code
