"""Compaction: rewrite the database file so that deleted rows' bytes leave it.

DuckDB frees the blocks of deleted rows but reuses them only for later writes; until then a
byte scan of ``shopmind.duckdb`` still finds erased values (session and order ids, strings
in column dictionaries). :func:`compact` copies the database into a new file (``COPY FROM
DATABASE``, encrypted with the workspace's key when it has one, with the old file's
permissions, owner and group; a symlinked file is rewritten at its target) while holding
the write lock, swaps it in with ``os.replace`` and records an audit entry: the file then
holds live rows only. The old file is unlinked, not overwritten: on the device its blocks
are free space until reused (filesystem snapshots and SSD remapping may keep them longer).
Used by ``forget --compact``, ``retention --compact`` and ``shopmind compact``; it costs
about a backup's time and free disk (the whole database is copied). The lock holds against
other processes; another connection of the same process (none in the CLI) would keep
writing to the old file.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from shopmind.errors import WorkspaceError
from shopmind.store.audit import record
from shopmind.store.backup import snapshot
from shopmind.store.swap import (
    check_access,
    database_file,
    keep_access,
    partial_copy,
    remove_partial_copies,
    terminate_as_error,
    wal_files,
)
from shopmind.store.workspace import DB_FILENAME, Workspace

SUFFIX = ".compacting"


def compact(workspace: Workspace) -> dict[str, Any]:
    """Rewrite ``workspace``'s database with its live rows only; returns the file's size in
    bytes before and after and the seconds taken. The tables' contents do not change."""
    if not workspace.exists():
        raise WorkspaceError(
            f"No workspace at {workspace.root} (missing {DB_FILENAME}).",
            hint="Point --workspace (or SHOPMIND_WORKSPACE) at the workspace to compact.",
        )
    started = time.perf_counter()
    target = database_file(workspace)  # through a symlink: the old bytes live at its target
    new_db = partial_copy(workspace, SUFFIX)
    with workspace.connect() as con:  # the write lock: nobody writes while we copy and swap
        remove_partial_copies(workspace)  # an earlier run killed mid-copy
        old = check_access(target)
        con.execute("CHECKPOINT")
        try:
            with terminate_as_error():
                snapshot(con, new_db, workspace.key)
                keep_access(new_db, old)
        except BaseException:
            _remove(new_db)
            raise
        os.replace(new_db, target)
        for wal in wal_files(workspace):
            wal.unlink(missing_ok=True)
    result = {
        "bytes_before": old.st_size,
        "bytes_after": target.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
    }
    record(workspace, "compact", f"bytes={old.st_size}->{result['bytes_after']}", "ok")
    return result


def compact_after_request(workspace: Workspace) -> dict[str, Any]:
    """:func:`compact` after a committed request (forget, retention): a failure (e.g. a full
    disk) is reported in the result, ``{"error": ...}``, not raised - the request is done.
    SIGTERM (:class:`~shopmind.store.swap.Terminated`) still stops the command."""
    try:
        return compact(workspace)
    except Exception as exc:  # the erasure stands; say why the rewrite did not happen
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        # the trail shows the rewrite that did not happen (the request has its own entry);
        # if that fails too (the same full disk), the result still says it
        with contextlib.suppress(Exception):
            record(workspace, "compact", "after a request", f"error {type(exc).__name__}")
        return {"error": error}


def _remove(db: Path) -> None:
    db.unlink(missing_ok=True)
    Path(f"{db}.wal").unlink(missing_ok=True)
