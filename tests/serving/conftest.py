"""One trained workspace, copied for each service the serving tests start."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopmind.security.keys import revoke_key
from shopmind.store import Workspace
from tests.serving.helpers import ROLES, Server, make_keys, start_server, trained_workspace


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_workspace(tmp_path_factory.mktemp("trained"))


@pytest.fixture(scope="session")
def served(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service with a key per role, plus an expired and a revoked key."""
    ws = tmp_path_factory.mktemp("serve") / "ws"
    shutil.copytree(trained, ws)
    keys = dict(zip(ROLES, make_keys(ws, *ROLES), strict=True))
    expired, revoked = make_keys(ws, "admin", "admin")
    with Workspace(ws).connect() as con:
        revoke_key(con, revoked.split("_")[1])
        con.execute(
            "UPDATE api_keys SET expires_at = now() - INTERVAL 1 DAY WHERE key_id = ?",
            [expired.split("_")[1]],
        )
    server = start_server(ws, "--rate-limit", "5000")
    server.keys = {**keys, "expired": expired, "revoked": revoked}
    yield server
    assert server.stop() == 0
