"""``shopmind audit``: check and read the hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import state
from shopmind.errors import ShopmindError
from shopmind.serving.runfile import service_error
from shopmind.store import audit
from shopmind.store.workspace import Workspace

app = typer.Typer(help="The audit trail: who did what, when, with which outcome.")
_API = "Read it through the API (GET /v1/admin/audit, /v1/admin/audit/verify with an admin key)"


class AuditError(ShopmindError):
    """The audit trail failed verification or a filter is malformed."""


def _blocked(workspace: Workspace) -> None:
    blocked = service_error(workspace, _API)
    if blocked is not None:
        raise blocked


@app.command()
def verify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 when an entry was changed, deleted or cut off."""
    workspace = state(ctx).workspace
    _blocked(workspace)
    with workspace.connect(read_only=True) as con:
        report = audit.verify(con, audit.head_path(workspace))

    def render() -> None:
        if not report.ok:
            for problem in report.problems:
                stdout.print(f"entry {problem['seq']}: {problem['problem']}", highlight=False)
            return
        stdout.print(f"audit trail intact: {report.entries} entries", highlight=False)
        waiting = audit.pending(workspace)
        if waiting:
            stdout.print(
                f"{waiting} entries of read-only commands wait in {audit.JOURNAL_FILENAME} "
                "(chained by the next write, e.g. `shopmind audit show`)",
                highlight=False,
            )

    emit(report.to_dict(), as_json, render)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def show(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="ISO-8601 time, e.g. 2025-01-01T00:00:00+00:00.")
    ] = None,
    principal: Annotated[str | None, typer.Option(help="Exact principal, e.g. key:ab12...")] = None,
    action: Annotated[str | None, typer.Option(help="Part of the action, e.g. events.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Newest entries shown.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Newest entries first, filtered by time, principal and action."""
    workspace = state(ctx).workspace
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise AuditError(
                f"--since {since!r} is not an ISO-8601 time.", hint="Use e.g. 2025-01-01T00:00:00Z."
            ) from None
        if start.tzinfo is None:
            raise AuditError(f"--since {since!r} has no time zone.", hint="Add +00:00 or Z.")
    _blocked(workspace)
    if audit.pending(workspace):  # chain what read-only commands journaled, then show it
        with workspace.connect() as con:
            audit.fold(con, workspace)
    with workspace.connect(read_only=True) as con:
        rows = audit.show(con, since=start, principal=principal, action=action, limit=limit)
    audit.record(workspace, "audit show", f"{len(rows)} entries")

    def render() -> None:
        columns = ["seq", "ts", "principal", "role", "action", "target", "outcome"]
        print_table("audit trail", columns, [[r[c] for c in columns] for r in rows])

    emit({"entries": rows}, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")
