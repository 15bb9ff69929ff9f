"""``shopmind backup`` whether or not the service runs: directly from the file, or through
the running service's local backup route (:mod:`shopmind.serving.routes.backup`)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shopmind.errors import WorkspaceError
from shopmind.serving import runfile
from shopmind.serving.routes.backup import PATH, RESULT_HEADER, TOKEN_HEADER
from shopmind.store import Workspace
from shopmind.store.audit import journal
from shopmind.store.backup import check_file, create_backup

TIMEOUT_S = 600


def backup_workspace(workspace: Workspace, out: Path) -> dict[str, Any]:
    """Write a backup of ``workspace`` to ``out``; through the service when it holds it."""
    info = runfile.running(workspace)
    if info is not None:
        return _through_service(info, out)  # the service audits it
    result = create_backup(workspace, out)
    journal(workspace, "backup", f"out={out.name}")  # read only: chained by the next write
    return result


def _local_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{parts.port}{PATH}"


def _through_service(info: dict[str, Any], out: Path) -> dict[str, Any]:
    if "token" not in info:
        raise WorkspaceError(
            f"The shopmind service (pid {info['pid']}) holds this workspace and is too old "
            "to write backups.",
            hint=f"Restart it (kill -TERM {info['pid']}; shopmind serve), then rerun.",
        )
    request = urllib.request.Request(
        _local_url(str(info["url"])), method="POST", headers={TOKEN_HEADER: str(info["token"])}
    )
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            result = json.loads(answer.headers.get(RESULT_HEADER, "{}"))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                while chunk := answer.read(1 << 20):
                    handle.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(
            f"The shopmind service (pid {info['pid']}, {info['url']}) holds this workspace and "
            f"did not write the backup: {exc}.",
            hint=f"Check the service's log, or stop it (kill -TERM {info['pid']}) and rerun.",
        ) from exc
    try:
        check_file(tmp)
    except WorkspaceError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return {**result, "out": str(out), "bytes": out.stat().st_size, "via_service": True}
