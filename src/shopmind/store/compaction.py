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
import time
from typing import Any

from shopmind.errors import WorkspaceError
from shopmind.store.audit import record
from shopmind.store.backup import snapshot
from shopmind.store.swap import rewrite_database
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
    # the write lock (the connection): nobody writes while we copy and swap
    with workspace.connect() as con, rewrite_database(workspace, con, SUFFIX) as rewrite:
        snapshot(con, rewrite.copy, workspace.key)
    before = rewrite.old.st_size
    result = {
        "bytes_before": before,
        "bytes_after": rewrite.target.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
    }
    record(workspace, "compact", f"bytes={before}->{result['bytes_after']}", "ok")
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
