"""Swapping a rewritten copy of the database in (``compact``, ``rotate-key``).

What every rewrite keeps: the file a symlinked ``shopmind.duckdb`` points at is the one
rewritten (replacing the link would leave the old bytes at its target); the old file's mode,
owner and group (DuckDB creates files with the umask's mode and the caller's ids; a process
that could not give them back is refused before it copies anything); and no partial copy
of the database outlives the rewrite - not after an error or SIGTERM (the copy is removed and
the command stops), nor after an earlier run killed harder (its copy is removed, under the
write lock, before the next rewrite).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import duckdb

from shopmind.errors import WorkspaceError
from shopmind.store.backup import PARTIAL_SUFFIXES
from shopmind.store.workspace import Workspace


def _remove_partial_copies(files: set[Path]) -> None:
    """Delete copies an interrupted rewrite left beside ``files`` (the link and its target).
    Called holding the write lock: only a rewrite, which holds it too, writes them."""
    for file in files:
        for suffix in PARTIAL_SUFFIXES:
            leftover = file.with_name(file.name + suffix)
            if leftover.is_file():
                leftover.unlink()


def check_access(target: Path) -> os.stat_result:
    """The database file's status, after checking that this process can give a copy its
    owner and group (root, or its owner and a member of its group). Refused before any
    copy: a rewrite must not lock the owner or the group out."""
    old = target.stat()
    if os.geteuid() == 0:
        return old
    if old.st_uid != os.geteuid():
        raise WorkspaceError(
            f"{target} belongs to another user (uid {old.st_uid}): a rewritten copy would "
            "belong to you. Nothing was changed.",
            hint="Run the command as the file's owner (or as root).",
        )
    if old.st_gid not in (os.getegid(), *os.getgroups()):
        raise WorkspaceError(
            f"{target} belongs to group {old.st_gid}, which you are not a member of: a "
            "rewritten copy could not keep that group's access. Nothing was changed.",
            hint="Run it as a member of that group (or as root), or `chgrp` the workspace "
            "to one of your groups first.",
        )
    return old


def keep_access(new: Path, old: os.stat_result) -> None:
    """Give ``new`` the old file's permission bits, owner and group (checked beforehand by
    :func:`check_access`)."""
    now = new.stat()
    if (now.st_uid, now.st_gid) != (old.st_uid, old.st_gid):
        os.chown(new, old.st_uid, old.st_gid)
    os.chmod(new, old.st_mode & 0o777)


_TERMINATED = "terminated (SIGTERM) during the rewrite; its partial copy was removed"


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during a rewrite: its cleanup ran and the command stops (like Ctrl-C,
    and not caught by ``except Exception``: a terminated command must not carry on)."""


@contextmanager
def terminate_as_error() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` instead of ending the process on
    the spot, so the rewrite's cleanup runs. DuckDB may surface the interruption of a running
    query as its own error; it is re-raised as :class:`Terminated`. Where a statement does not
    check for signals, the handler runs when it returns: the finished copy is then removed
    all the same. Main thread only (elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        received.set()
        raise Terminated(_TERMINATED)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except BaseException as exc:
        if received.is_set() and not isinstance(exc, Terminated):
            raise Terminated(_TERMINATED) from exc
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class Rewrite:
    """A rewrite under way: where to write the copy, the file it replaces, its old status."""

    copy: Path
    target: Path
    old: os.stat_result


@contextmanager
def rewrite_database(
    workspace: Workspace, con: duckdb.DuckDBPyConnection, suffix: str
) -> Iterator[Rewrite]:
    """Rewrite ``workspace``'s database while ``con`` holds its write lock: yields where to
    write the new copy. On a normal exit the copy gets the old file's mode, owner and group
    and replaces the real file (through a symlink), and the WAL goes; on an error or SIGTERM
    the copy is removed and the error raised (nothing changed)."""
    link = workspace.db_path
    target = link.resolve()  # through a symlink: the old bytes live at its target
    copy = target.with_name(target.name + suffix)  # beside it: the swap is one rename
    _remove_partial_copies({link, target})  # an earlier run killed mid-copy (maybe plain)
    old = check_access(target)
    con.execute("CHECKPOINT")
    try:
        with terminate_as_error():
            yield Rewrite(copy, target, old)
            keep_access(copy, old)
    except BaseException:
        copy.unlink(missing_ok=True)
        Path(f"{copy}.wal").unlink(missing_ok=True)
        raise
    os.replace(copy, target)
    # DuckDB keeps the WAL by the path it opened: beside the link or beside its target
    for wal in {Path(f"{link}.wal"), Path(f"{target}.wal")}:
        wal.unlink(missing_ok=True)
