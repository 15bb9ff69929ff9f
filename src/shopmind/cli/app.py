"""The ``shopmind`` command: global options and the sub-commands of each stage."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from shopmind import __version__
from shopmind.cli import (
    abtest,
    analyze,
    campaign,
    clv,
    info,
    ingest,
    profile,
    propensity,
    recommend,
    report,
    serve,
    simulate,
    uplift,
)
from shopmind.cli._output import fail
from shopmind.cli.state import State
from shopmind.config import Settings
from shopmind.errors import ShopmindError

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
    settings = Settings()
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
serve.register(app)


def main() -> None:
    """Entry point: runs the app; user errors print one paragraph, never a traceback."""
    try:
        app(standalone_mode=False)
    except ShopmindError as exc:
        raise SystemExit(_report(str(exc), 2)) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (typer.Abort, KeyboardInterrupt):
        raise SystemExit(
            _report("interrupted; nothing was committed by the interrupted step.", 130)
        ) from None
    except Exception as exc:  # usage errors (they can show themselves) and the unexpected
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if os.environ.get("SHOPMIND_DEBUG"):
            traceback.print_exc()
        raise SystemExit(
            _report(
                f"unexpected {type(exc).__name__}: {exc}. Rerun with SHOPMIND_DEBUG=1 for the "
                "traceback and report it.",
                1,
            )
        ) from None


def _report(message: str, code: int) -> int:
    try:
        raise fail(message, code)
    except typer.Exit as exit_:
        sys.stderr.flush()
        return int(exit_.exit_code)
