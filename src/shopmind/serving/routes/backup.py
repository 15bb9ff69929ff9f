"""``POST /local/backup``: the running service writes a backup of the workspace it holds.

DuckDB lets one process open a database for writing, and the service keeps it open, so
``shopmind backup`` cannot read the file while the service runs; it asks the service instead
(:mod:`shopmind.serving.backup_client`). The route is outside ``/v1`` and takes no API key:
it answers only loopback clients that send the token of the service's ``serve.json`` (mode
0600; whoever can read it can read the workspace files anyway). The snapshot is taken on a
cursor of the service's connection (one read transaction, consistent while events land) and
streamed back; the file never stays on the server.
"""

from __future__ import annotations

import hmac
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from shopmind.serving import runfile
from shopmind.store import Workspace
from shopmind.store.audit import AuditEntry, cli_principal
from shopmind.store.backup import create_backup

PATH = "/local/backup"
TOKEN_HEADER = "X-Shopmind-Token"
RESULT_HEADER = "X-Shopmind-Backup"
LOOPBACK = {"127.0.0.1", "::1"}

#: Mounted under /v1 by the app like every optional router: it holds no route there.
router = APIRouter()


def install(app: FastAPI, workspace: Workspace) -> None:
    """Add the local backup route (outside /v1: no API key, the runfile token instead)."""
    del workspace  # the service on app.state holds it

    async def local_backup(request: Request) -> Response:
        service = request.app.state.service
        info = runfile.running(service.workspace) or {}
        sent = request.headers.get(TOKEN_HEADER, "")
        token = str(info.get("token") or "")
        client = request.client.host if request.client else ""
        if (
            client not in LOOPBACK
            or not token  # no live run file: nobody can have the token
            or not hmac.compare_digest(sent.encode(), token.encode())
        ):
            return JSONResponse(
                {
                    "error": {
                        "code": "forbidden",
                        "message": "Only `shopmind backup` on this "
                        "machine may ask the service for a backup.",
                    }
                },
                status_code=403,
            )
        folder = Path(tempfile.mkdtemp(prefix="shopmind-backup-"))  # mode 0700
        try:
            result = await run_in_threadpool(_write, service, folder / "workspace.backup")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        service.writer.audit(
            AuditEntry(cli_principal(), "local", "backup", "through the service", "ok")
        )
        return FileResponse(
            folder / "workspace.backup",
            media_type="application/octet-stream",
            headers={RESULT_HEADER: json.dumps(result)},
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    # a plain Starlette route: no OpenAPI entry, not a console page, not under /v1
    app.add_route(PATH, local_backup, methods=["POST"], include_in_schema=False)


def _write(service: Any, out: Path) -> dict[str, Any]:
    cur = service.con.cursor()  # its own transaction beside the writer's
    try:
        result = create_backup(service.workspace, out, con=cur)
    finally:
        cur.close()
    return {k: v for k, v in result.items() if k != "out"}
