"""Open-loop HTTP load over loopback, shared by the service benchmarks (serve.py, risk.py).

Requests are sent at a fixed rate from ``connections`` keep-alive connections; each latency
runs from the request's *scheduled* send time, so a server that falls behind is charged for
the queueing (no coordinated omission; Tene, "How NOT to measure latency", 2015).
Requests are raw HTTP/1.1 bytes built by :func:`get` / :func:`post_json`.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import numpy as np

from shopmind.testing.server import free_port

__all__ = ["free_port", "get", "open_loop", "post_json", "wait_for_port"]

HOST = "127.0.0.1"


def get(path: str, headers: dict[str, str] | None = None) -> bytes:
    """A ``GET`` request (keep-alive) for ``path`` with extra header lines."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{lines}\r\n".encode()


def post_json(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """A ``POST`` of a JSON ``body`` to ``path``."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{lines}\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request, read the whole response; its status code."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def _open_loop(port: int, requests: list[bytes], rate: float, connections: int) -> dict:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(HOST, port)
        while True:
            scheduled, request = await queue.get()
            if not request:
                writer.close()
                return
            try:
                errors += await _exchange(reader, writer, request) != 200
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                reader, writer = await asyncio.open_connection(HOST, port)
            latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.2
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, request))
    for _ in workers:
        queue.put_nowait((0.0, b""))
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(requests),
        "errors": errors,
        "throughput_rps": len(requests) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def open_loop(port: int, requests: list[bytes], rate: float, connections: int) -> dict[str, Any]:
    """Send ``requests`` at ``rate`` per second; counts, errors (non-200), p50/p99/max ms."""
    return asyncio.run(_open_loop(port, requests, rate, connections))


def wait_for_port(port: int, seconds: float = 60.0) -> None:
    """Block until something accepts connections on ``port``; SystemExit after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {seconds:.0f} s")
