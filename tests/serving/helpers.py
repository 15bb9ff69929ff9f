"""A real ``shopmind serve`` in a subprocess on 127.0.0.1, and keys made with the CLI."""

from __future__ import annotations

import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shopmind.security import create_key
from shopmind.store import Workspace
from shopmind.testing.server import ServerDidNotStart, launch
from tests.conftest import ingest_lines, run_cli

ENV = {"SHOPMIND_PROFILE": "dev"}
ROLES = ("admin", "analyst", "marketer", "agent", "risk_analyst", "service")


def trained_workspace(root: Path) -> Path:
    """Users u* and v* with item sequences, a Markov recommender trained on them."""
    ws = root / "ws"
    lines = [f"u{i} a1 a2 a3 a4" for i in range(20)] + [f"v{i} b1 b2 b3" for i in range(10)]
    ingest_lines(ws, root / "seq.txt", lines, "sequences")
    result = run_cli("--workspace", str(ws), "recommend", "train", "--model", "markov", "--quiet")
    assert result.returncode == 0, result.stderr
    return ws


def make_keys(ws: Path, *roles: str) -> list[str]:
    """Keys made with the library (the CLI's own test covers `shopmind keys create`)."""
    with Workspace(ws).connect() as con:
        return [create_key(con, role).key for role in roles]


@dataclass
class Server:
    ws: Path
    proc: subprocess.Popen[bytes]
    base: str
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def request(self, method: str, path: str, role: str | None = "admin", **kw: Any) -> Any:
        headers = {**(self.headers(role) if role else {}), **kw.pop("headers", {})}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kw)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def start_server(
    ws: Path, *args: str, log: Path | None = None, env: dict[str, str] | None = None
) -> Server:
    """``shopmind serve`` on a free loopback port until ``/health`` answers; its stderr goes
    to ``log`` when given (read it on failure), else to a pipe."""
    try:
        proc, base = launch(ws, *args, log=log, env={**ENV, **(env or {})})
    except ServerDidNotStart as error:
        raise AssertionError(str(error)) from None
    return Server(ws, proc, base)


def assert_error_shape(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """The one error shape: {"error": {"code": str, "message": str, "details"?: list}}."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:300])
    assert 400 <= response.status_code < 500 or response.status_code == status == 503
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    assert len(response.content) < 20_000  # nothing large echoed back
    return dict(error)
