"""The ``shopmind`` command: global options and the sub-commands of each stage."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from shopmind import __version__
from shopmind.cli import (
    abtest,
    analyze,
    assistant,
    audience,
    audit,
    audited,
    backup,
    campaign,
    clv,
    dp,
    identity,
    info,
    ingest,
    items,
    keys,
    pii,
    privacy,
    profile,
    propensity,
    recommend,
    report,
    risk,
    serve,
    simulate,
    uplift,
)
from shopmind.cli._errors import (
    BUG,
    CliError,
    from_exception,
    json_requested,
    settings_error,
    usage_error,
)
from shopmind.cli._output import print_error
from shopmind.cli.state import State
from shopmind.config import Settings

app = typer.Typer(
    name="shopmind",
    help="Turn an online shop's user data into value. Start with `shopmind simulate` or "
    "`shopmind ingest FILE --format NAME`, then `shopmind info`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shopmind {__version__}")
        raise typer.Exit()


@app.callback()
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


ingest.register(app)
simulate.register(app)
info.register(app)
analyze.register(app)
clv.register(app)
profile.register(app)
report.register(app)
uplift.register(app)
abtest.register(app)
propensity.register(app)
campaign.register(app)
recommend.register(app)
assistant.register(app)
items.register(app)
serve.register(app)
risk.register(app)
keys.register(app)
audit.register(app)
backup.register(app)
privacy.register(app)
audience.register(app)
identity.register(app)
dp.register(app)
pii.register(app)


def main() -> None:
    """Entry point: runs the app; every failure prints one line naming the fix, no traceback.

    With ``--json`` anywhere on the command line the error is also printed as one JSON object
    on stdout, ``{"error": {"type", "message", "hint", "exit_code"}}`` (see docs/cli-errors.md).
    """
    as_json = json_requested(sys.argv[1:])
    try:
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
        error = from_exception(exc)
        if error.exit_code == BUG and os.environ.get("SHOPMIND_DEBUG"):
            traceback.print_exc()
        raise SystemExit(_report(error, as_json)) from None
    # typer.Exit(code) raised inside a command comes back as the return value
    if isinstance(code, int) and not isinstance(code, bool) and code:
        raise SystemExit(code)


def _report(error: CliError, as_json: bool) -> int:
    print_error(error.line(), error.to_dict() if as_json else None)
    return error.exit_code
