"""A real ``shopmind serve`` in a subprocess on 127.0.0.1, and keys made with the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shopmind.security import create_key
from shopmind.store import Workspace
from tests.conftest import ingest_lines, run_cli

ENV = {"SHOPMIND_PROFILE": "dev"}
ROLES = ("admin", "analyst", "marketer", "agent", "risk_analyst", "service")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = free_port()
    sink = log.open("wb") if log is not None else None
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shopmind",
                "--workspace",
                str(ws),
                "serve",
                "--port",
                str(port),
                *args,
            ],
            env={**os.environ, **ENV, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=sink if sink is not None else subprocess.PIPE,
        )
    finally:
        if sink is not None:
            sink.close()  # the child holds its own copy

    def stderr() -> str:
        if log is not None:
            return log.read_text()[-3000:]
        return proc.stderr.read().decode() if proc.stderr else ""

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {stderr()}")
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return Server(ws, proc, base)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start within 120 s")


def assert_error_shape(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """The one error shape: {"error": {"code": str, "message": str, "details"?: list}}."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:300])
    assert 400 <= response.status_code < 500 or response.status_code == status == 503
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    assert len(response.content) < 20_000  # nothing large echoed back
    return dict(error)
