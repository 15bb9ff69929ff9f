"""``shopmind backup``, ``shopmind restore`` and ``shopmind rotate-key`` (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import state


def backup(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Backup file to write (outside the workspace).")],
    as_json: JsonOption = False,
) -> None:
    """Write one checksummed snapshot of the workspace (database, models, reports, audit
    files, key file); encrypted when SHOPMIND_WORKSPACE_KEY is set. Works while `shopmind
    serve` runs (the service writes the snapshot)."""
    from shopmind.serving.backup_client import backup_workspace

    result = backup_workspace(state(ctx).workspace, out)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"wrote {result['out']} ({result['bytes']:,} bytes, "
            f"{'encrypted' if result['encrypted'] else 'NOT encrypted'}, sha256 "
            f"{result['sha256'][:16]}…): {len(result['tables'])} tables, {result['files']} files"
            + (" (through the running service)" if result.get("via_service") else ""),
            highlight=False,
        ),
    )


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Backup file written by `shopmind backup`.")],
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into a new or empty workspace (--workspace); every checksum is
    checked first. Encrypted (and needing SHOPMIND_WORKSPACE_KEY) when the key is set."""
    from shopmind.store.backup import restore_backup

    result = restore_backup(file, state(ctx).workspace)
    emit(
        result,
        as_json,
        lambda: print_table(
            f"restored {file} into {result['workspace']}"
            + (" (encrypted)" if result["encrypted"] else ""),
            ["table", "rows"],
            [[t, n] for t, n in result["tables"].items() if n],
        ),
    )


def rotate_key(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Re-encrypt the workspace with SHOPMIND_NEW_WORKSPACE_KEY (the current key from
    SHOPMIND_WORKSPACE_KEY; unset for a plain workspace, which this turns encrypted). Then
    use the new key as SHOPMIND_WORKSPACE_KEY."""
    from shopmind.store.rotation import rotate

    st = state(ctx)
    result = rotate(st.workspace, st.settings.new_encryption_key())
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"re-encrypted {result['workspace']}: database and {result['files']} files. Set "
            "SHOPMIND_WORKSPACE_KEY to the new key from now on.",
            highlight=False,
        ),
    )


def compact(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Rewrite the database file with its live rows only, so the bytes of deleted rows (an
    erasure through the API, a retention run) leave the file; the tables do not change.
    Copies the whole database: about a backup's time and free disk."""
    from shopmind.store.compaction import compact as compact_database

    st = state(ctx)
    result = compact_database(st.workspace)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"database rewritten: {result['bytes_before']:,} -> {result['bytes_after']:,} "
            f"bytes ({result['seconds']} s)",
            highlight=False,
        ),
    )


def register(root: typer.Typer) -> None:
    """Add this module's commands to ``root``."""
    root.command("backup")(backup)
    root.command("restore")(restore)
    root.command("rotate-key")(rotate_key)
    root.command("compact")(compact)
