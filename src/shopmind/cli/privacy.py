"""``shopmind forget``, ``export-user`` and ``retention``: personal-data requests (issue 15).

The CLI acts as the admin principal ``cli:<os user>``: whoever runs it can read the
workspace's key files anyway. Each command logs its request in ``privacy_requests`` and the
audit trail (never the raw id; see docs/privacy.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import State, state
from shopmind.store.requests import RequestResult, export_user, forget
from shopmind.store.retention import apply_retention
from shopmind.store.vault import vault_key

UserArg = Annotated[
    str,
    typer.Argument(
        help="User id as ingested (the raw id; or the stored pseudonym, or the id of a "
        "workspace loaded with --pseudonymize off)."
    ),
]

CompactOption = Annotated[
    bool,
    typer.Option(
        "--compact",
        help="Then rewrite the database file without the deleted rows' bytes (copies the "
        "whole database: about a backup's time and size).",
    ),
]


def vault_keys(st: State) -> list[bytes]:
    """Vault keys this process holds: SHOPMIND_VAULT_KEY and the one derived from the
    workspace's pseudonymisation key (rows name the key that wrote them)."""
    settings = st.settings
    configured = settings.vault_key.get_secret_value() if settings.vault_key else None
    keys = [vault_key(None, configured), vault_key(settings.optional_key(st.workspace.root))]
    return [k for k in keys if k is not None]


def _print(result: RequestResult, as_json: bool, verb: str, after: str | None = None) -> None:
    def render() -> None:
        stdout.print(
            f"{verb} {result.total_rows:,} rows (request {result.request_id})", highlight=False
        )
        if result.rows:
            print_table("rows per table", ["table", "rows"], sorted(result.rows.items()))
        if result.files:
            print_table(
                "files",
                ["path", "action", "rows"],
                [[f["path"], f["action"], f.get("rows", "")] for f in result.files],
            )
        if result.stale_models:
            print_table("models marked stale", ["path"], [[p] for p in result.stale_models])
        if after:
            stdout.print(after, highlight=False)

    emit(result.to_dict(), as_json, render)


def forget_command(
    ctx: typer.Context,
    user: UserArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")
    ] = False,
    compact: CompactOption = False,
    as_json: JsonOption = False,
) -> None:
    """Erase a user: rows in every table, quarantined records and output files; mark the
    models trained on them stale (nothing is retrained); log the request."""
    st = state(ctx)
    key = st.settings.optional_key(st.workspace.root)
    result = forget(st.workspace, user, key, dry_run=dry_run, compact=compact)
    _print(result, as_json, "would remove" if dry_run else "removed", after=_bytes_note(result))


def export_user_command(
    ctx: typer.Context,
    user: UserArg,
    out: Annotated[Path, typer.Option(help="JSON file to write.")],
    as_json: JsonOption = False,
) -> None:
    """Write every row of a user in every table (and the vault's clear fields) as JSON."""
    st = state(ctx)
    key = st.settings.optional_key(st.workspace.root)
    result = export_user(st.workspace, user, key, out, vault_keys=vault_keys(st))
    _print(result, as_json, f"exported to {out}:")


def retention_command(
    ctx: typer.Context,
    older_than_days: Annotated[
        int, typer.Option(min=1, help="Drop raw events older than this many days.")
    ],
    as_of: Annotated[
        datetime | None,
        typer.Option(help="Count days back from this time (UTC; default now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be dropped; change nothing.")
    ] = False,
    compact: CompactOption = False,
    as_json: JsonOption = False,
) -> None:
    """Drop raw events before midnight UTC of (as-of - N days), keeping daily and per-user
    aggregates of them in events_daily and user_history."""
    st = state(ctx)
    stamp = as_of if as_of is None or as_of.tzinfo else as_of.replace(tzinfo=UTC)
    result = apply_retention(
        st.workspace, older_than_days, as_of=stamp, dry_run=dry_run, compact=compact
    )
    cutoff = f"cut-off {result.detail['cutoff']:%Y-%m-%d %H:%M} UTC"
    note = _bytes_note(result)
    _print(
        result,
        as_json,
        "would drop" if dry_run else "dropped",
        after=f"{cutoff}\n{note}" if note else cutoff,
    )


def _bytes_note(result: RequestResult) -> str | None:
    """What became of the deleted rows' bytes in the database file (text output only)."""
    if result.dry_run:
        return None
    done = result.detail.get("compacted")
    if done and "error" in done:
        return (
            f"warning: the database was not rewritten ({done['error']}); the request is done. "
            "Run `shopmind compact` once the cause is fixed."
        )
    if done:
        return (
            f"database rewritten without them: {done['bytes_before']:,} -> "
            f"{done['bytes_after']:,} bytes ({done['seconds']} s)"
        )
    return (
        "note: the deleted rows' bytes stay in the database file's freed blocks until they are "
        "reused; add --compact to rewrite the file without them."
    )


def register(root: typer.Typer) -> None:
    """Add this module's commands to ``root``."""
    root.command("forget")(forget_command)
    root.command("export-user")(export_user_command)
    root.command("retention")(retention_command)
