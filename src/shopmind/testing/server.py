"""A real ``shopmind serve`` in a subprocess on loopback, for tests, scripts and benchmarks.

One launcher (free port, environment, stderr to a log file or a pipe, wait for ``/health``)
shared by ``tests/serving``, ``scripts/console_server.py`` and ``benchmarks/serve.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HOST = "127.0.0.1"


class ServerDidNotStart(RuntimeError):
    """The server exited or did not answer ``/health`` in time; the message ends with its
    last stderr lines."""


def free_port() -> int:
    """A TCP port on loopback that is free now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def launch(
    ws: Path | str,
    *args: str,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 120.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``shopmind --workspace ws serve --port P *args`` and wait until ``/health``
    answers 200; returns the process and its base URL. stderr goes to ``log`` when given,
    else to a pipe (read only on failure). The dev profile is set unless ``env`` overrides it.
    A port taken by another process between :func:`free_port` and the server's bind is
    retried on a new port (up to three tries).
    """
    for _ in range(PORT_TRIES - 1):
        try:
            return _launch_once(ws, args, log, env, timeout_s)
        except ServerDidNotStart as error:
            if CANNOT_LISTEN not in str(error):
                raise
    return _launch_once(ws, args, log, env, timeout_s)


#: Tries of :func:`launch` when the chosen port was taken meanwhile.
PORT_TRIES = 3
#: How ``shopmind serve`` starts its error for a port it cannot bind (``cli.serve``'s
#: ``_check_port``; this layer may not import the CLI).
CANNOT_LISTEN = "Cannot listen on"


def _launch_once(
    ws: Path | str,
    args: tuple[str, ...],
    log: Path | None,
    env: dict[str, str] | None,
    timeout_s: float,
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "shopmind", "--workspace", str(ws), "serve"]
    sink = log.open("wb") if log is not None else None
    try:
        proc = subprocess.Popen(
            [*command, "--port", str(port), *args],
            env={**os.environ, "SHOPMIND_PROFILE": "dev", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=sink if sink is not None else subprocess.PIPE,
        )
    finally:
        if sink is not None:
            sink.close()  # the child holds its own copy
    base = f"http://{HOST}:{port}"
    stderr = _stderr_reader(proc, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerDidNotStart(f"the server exited: {stderr()}")
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=30)
    raise ServerDidNotStart(f"the server did not start within {timeout_s:.0f} s: {stderr()}")


def _stderr_reader(proc: subprocess.Popen[bytes], log: Path | None) -> Callable[[], str]:
    def read() -> str:
        if log is not None:
            return log.read_text(errors="replace")[-3000:]
        return proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""

    return read
