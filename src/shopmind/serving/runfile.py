"""``serve.json`` in the workspace while ``shopmind serve`` runs: who holds the workspace.

DuckDB lets one process write a database file, and the service keeps it open. Commands
that find the file locked read this note to say so plainly (which process, which URL, and
to use the API or stop the service) instead of showing DuckDB's lock error.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shopmind.errors import WorkspaceError
from shopmind.store import Workspace

FILENAME = "serve.json"


def path(workspace: Workspace) -> Path:
    return workspace.root / FILENAME


def write(workspace: Workspace, host: str, port: int) -> str:
    """Write the note (mode 0600) with a fresh token that lets local commands of the same
    user ask the service for work on the workspace (``shopmind backup``); returns the token."""
    token = secrets.token_urlsafe(32)
    info = {"pid": os.getpid(), "url": f"http://{host}:{port}", "token": token}
    path(workspace).unlink(missing_ok=True)
    fd = os.open(path(workspace), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(info))
    return token


def remove(workspace: Workspace) -> None:
    try:
        info = json.loads(path(workspace).read_text())
    except (OSError, ValueError):
        return
    if info.get("pid") == os.getpid():
        path(workspace).unlink(missing_ok=True)


def running(workspace: Workspace) -> dict[str, Any] | None:
    """The live service's note, or None (a note left by a killed service is ignored)."""
    try:
        info = json.loads(path(workspace).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(info)


def service_error(workspace: Workspace, api_hint: str) -> WorkspaceError | None:
    """The error to show when the service holds the workspace, else None."""
    info = running(workspace)
    if info is None:
        return None
    return WorkspaceError(
        f"The shopmind service (pid {info['pid']}, {info['url']}) holds this workspace; "
        "while it runs, DuckDB lets no other process open the file, not even to read.",
        hint=f"{api_hint} or stop the service (kill -TERM {info['pid']}) and rerun.",
    )


@contextmanager
def writable(workspace: Workspace, api_hint: str) -> Iterator[Any]:
    """``workspace.connect()`` with the service named when it holds the lock."""
    blocked = service_error(workspace, api_hint)
    if blocked is not None:
        raise blocked
    try:
        workspace.init()
        with workspace.connect() as con:
            yield con
    except WorkspaceError:
        blocked = service_error(workspace, api_hint)
        if blocked is not None:
            raise blocked from None
        raise
