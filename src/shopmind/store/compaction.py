"""Compaction: rewrite the database file so that deleted rows' bytes leave it.

DuckDB frees the blocks of deleted rows but reuses them only for later writes; until then a
byte scan of ``shopmind.duckdb`` still finds erased values (session and order ids, strings
in column dictionaries). :func:`compact` copies the database into a new file (``COPY FROM
DATABASE``, encrypted with the workspace's key when it has one, with the old file's
permissions) while holding the write lock, swaps it in with ``os.replace`` and records an
audit entry: the file then holds live rows only. The old file is unlinked, not overwritten:
on the device its blocks are free space until reused (filesystem snapshots and SSD
remapping may keep them longer). Used by ``forget --compact``, ``retention --compact`` and
``shopmind compact``; it costs about a backup's time and free disk (the whole database is
copied). The lock holds against other processes; another connection of the same process
(none in the CLI) would keep writing to the old file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from shopmind.errors import WorkspaceError
from shopmind.store.audit import record
from shopmind.store.backup import snapshot
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
    new_db = workspace.root / (DB_FILENAME + SUFFIX)
    _remove(new_db)
    with workspace.connect() as con:  # the write lock: nobody writes while we copy and swap
        con.execute("CHECKPOINT")
        old = workspace.db_path.stat()
        try:
            snapshot(con, new_db, workspace.key)
            os.chmod(new_db, old.st_mode & 0o777)  # DuckDB creates files with the umask's mode
        except BaseException:
            _remove(new_db)
            raise
        os.replace(new_db, workspace.db_path)
        Path(f"{workspace.db_path}.wal").unlink(missing_ok=True)
    result = {
        "bytes_before": old.st_size,
        "bytes_after": workspace.db_path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
    }
    record(workspace, "compact", f"bytes={old.st_size}->{result['bytes_after']}", "ok")
    return result


def compact_after_request(workspace: Workspace) -> dict[str, Any]:
    """:func:`compact` after a committed request (forget, retention): a failure (e.g. a full
    disk) is reported in the result, ``{"error": ...}``, not raised - the request is done."""
    try:
        return compact(workspace)
    except Exception as exc:  # the erasure stands; say why the rewrite did not happen
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}


def _remove(db: Path) -> None:
    db.unlink(missing_ok=True)
    Path(f"{db}.wal").unlink(missing_ok=True)
