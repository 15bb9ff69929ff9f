"""Latency of the recommendation endpoint under an open-loop load on loopback.

    python benchmarks/serve.py --data ../shared/data/amazon_beauty/Beauty.txt \
        --rate 500 --seconds 20 [--model markov]

Ingests the sequences into a temporary workspace, trains the model (default: the one
``recommend train`` chooses), starts ``shopmind serve`` in its own process and sends
``GET /v1/users/{id}/recommendations?k=10`` for random known users at a fixed rate from
keep-alive connections. Latency runs from each request's *scheduled* send time, so a
server that falls behind is charged for the queueing (no coordinated omission).
The baseline is ``GET /health`` measured the same way in the same run (the framework's own
floor). Results: benchmarks/results/serve.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "shopmind", *args],
        check=True,
        env={**os.environ, "SHOPMIND_PROFILE": "dev"},
        stdout=subprocess.DEVNULL,
    )


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def load(port: int, paths: list[str], rate: float, connections: int) -> dict:
    queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            scheduled, path = await queue.get()
            if not path:
                writer.close()
                return
            try:
                status = await _one(reader, writer, path)
                errors += status != 200
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.2
    for i, path in enumerate(paths):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, path))
    for _ in workers:
        queue.put_nowait((0.0, ""))
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(paths),
        "errors": errors,
        "throughput_rps": len(paths) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="'uid i1 i2 ...' lines")
    parser.add_argument("--model", default=None)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--query",
        default="",
        help="extra query, e.g. '&exclude_purchased=true' "
        "(filters bypass the start-up cache and score online)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/serve.json")
    args = parser.parse_args()
    users = [line.split(maxsplit=1)[0] for line in args.data.read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp:
        ws = str(Path(tmp) / "ws")
        _cli(
            "--workspace",
            ws,
            "ingest",
            str(args.data),
            "--format",
            "sequences",
            "--pseudonymize",
            "off",
        )
        _cli(
            "--workspace",
            ws,
            "recommend",
            "train",
            "--quiet",
            *(["--model", args.model] if args.model else []),
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "shopmind", "--workspace", ws, "serve", "--port", str(port)],
            env={**os.environ, "SHOPMIND_PROFILE": "dev"},
            stderr=subprocess.PIPE,
        )
        try:
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            n = int(args.rate * args.seconds)
            rng = random.Random(0)
            warm = [f"/v1/users/{rng.choice(users)}/recommendations?k=10" for _ in range(200)]
            asyncio.run(load(port, warm, 200, 8))
            health = asyncio.run(load(port, ["/health"] * n, args.rate, args.connections))
            paths = [
                f"/v1/users/{rng.choice(users)}/recommendations?k=10{args.query}" for _ in range(n)
            ]
            recs = asyncio.run(load(port, paths, args.rate, args.connections))
        finally:
            server.terminate()
            server.wait(timeout=10)
        model = json.loads((Path(ws) / "models/recommend/default.json").read_text())["model"]
    result = {
        "data": str(args.data),
        "model": args.model or model,
        "rate_rps": args.rate,
        "seconds": args.seconds,
        "cores": os.cpu_count(),
        "recommendations": recs,
        "health_baseline": health,
    }
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
