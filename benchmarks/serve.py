"""Load on the secured service over loopback: authenticated reads and real-time events.

    python benchmarks/serve.py --data ../shared/data/amazon_beauty/Beauty.txt \
        --rate 500 --seconds 60 [--model markov] [--mode reads|events|all]

Ingests the sequences into a temporary workspace, trains the model (default: the one
``recommend train`` chooses), creates a ``service`` key and starts ``shopmind serve``.

* reads: ``GET /v1/users/{id}/recommendations?k=10`` with ``Authorization: Bearer`` for
  random known users at a fixed rate from keep-alive connections. Latency runs from each
  request's *scheduled* send time, so a server that falls behind is charged for the queueing
  (no coordinated omission). Baseline: the open ``GET /health`` measured the same way.
* events: clients post batches of new events (``POST /v1/events``) as fast as they are
  acknowledged for ``--event-seconds``; then SIGTERM and ``shopmind sql`` counts the stored
  events, which must equal the acknowledged ones. A second run kills the server with
  ``kill -9`` half-way, restarts it and goes on; every acknowledged event id must be stored.

Results: benchmarks/results/serve.json (reads and events), one JSON object per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from _loadgen import get, open_loop
from shopmind.testing.server import ServerDidNotStart, launch

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "SHOPMIND_PROFILE": "dev"}


def _cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "shopmind", *args],
        check=True,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _start(ws: str, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    try:
        server, base = launch(ws, *extra, log=Path(ws).parent / "serve.log", timeout_s=300)
    except ServerDidNotStart as error:
        raise SystemExit(str(error)) from None
    return server, int(base.rsplit(":", 1)[1])


async def post_events(
    port: int,
    key: str,
    items: list[str],
    clients: int,
    batch: int,
    seconds: float,
    tag: str,
    acked: set[str],
) -> dict[str, Any]:
    """Clients posting new events back to back for ``seconds`` (or until the server dies)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop = time.perf_counter() + seconds
    rng = random.Random(tag)

    async def client(c: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            n = 0
            while time.perf_counter() < stop:
                events = [
                    {
                        "event_id": f"{tag}-{c}-{n}-{i}",
                        "session_id": f"x{tag}-{c}-{n // 5}",
                        "event_type": "view",
                        "item_id": rng.choice(items),
                        "ts": f"2025-01-01T00:{(n // 60) % 60:02d}:{n % 60:02d}+00:00",
                    }
                    for i in range(batch)
                ]
                n += 1
                t0 = time.perf_counter()
                try:
                    answer = await http.post("/v1/events", json={"events": events}, timeout=60)
                except httpx.TransportError:
                    return  # killed under us: the events of this batch are not acknowledged
                latencies.append(time.perf_counter() - t0)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if answer.status_code == 200:
                    assert answer.json()["accepted"] == batch
                    acked.update(e["event_id"] for e in events)
                elif answer.status_code == 503:
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed = time.perf_counter() - t0
    ms = np.array(latencies or [0.0]) * 1000
    return {
        "seconds": round(elapsed, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "batch_p50_ms": float(np.percentile(ms, 50)),
        "batch_p99_ms": float(np.percentile(ms, 99)),
    }


def _stored_ids(ws: str, like: str) -> set[str]:
    rows = json.loads(
        _cli(
            "--workspace",
            ws,
            "sql",
            f"select event_id from events where session_id like '{like}'",
            "--json",
        )
    )
    return {r["event_id"] for r in rows}


def events_benchmark(ws: str, key: str, items: list[str], args: argparse.Namespace) -> dict:
    # 1. sustained load, then SIGTERM: count in = count stored
    _log("events: sustained load")
    server, port = _start(ws)
    acked: set[str] = set()
    run = asyncio.run(
        post_events(
            port, key, items, args.event_clients, args.batch, args.event_seconds, "s", acked
        )
    )
    server.send_signal(signal.SIGTERM)
    exit_code = server.wait(timeout=120)
    count = json.loads(
        _cli(
            "--workspace",
            ws,
            "sql",
            "select count(*) as n from events where session_id like 'xs%'",
            "--json",
        )
    )[0]["n"]
    sustained = {
        **run,
        "acknowledged": len(acked),
        "stored_after_sigterm": count,
        "exit_code": exit_code,
        "accepted_events_per_s": len(acked) / run["seconds"],
    }
    # 2. kill -9 half-way, restart, go on, SIGTERM: every acknowledged event stored
    _log(f"events: {len(acked)} acknowledged, {count} stored; now kill -9 half-way")
    acked_k: set[str] = set()
    half = args.event_seconds / 2
    server, port = _start(ws)
    asyncio.run(post_events(port, key, items, args.event_clients, args.batch, half, "k1", acked_k))

    # kill while clients are still posting
    async def kill_mid() -> None:
        task = asyncio.create_task(
            post_events(port, key, items, args.event_clients, args.batch, 60, "k2", acked_k)
        )
        await asyncio.sleep(1.0)
        server.kill()
        await task

    asyncio.run(kill_mid())
    server.wait()
    _log("events: killed; restarting")
    server, port = _start(ws)
    asyncio.run(post_events(port, key, items, args.event_clients, args.batch, half, "k3", acked_k))
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=120)
    stored = _stored_ids(ws, "xk%")
    crash = {
        "acknowledged": len(acked_k),
        "acknowledged_missing_after_restart": len(acked_k - stored),
        "stored": len(stored),
        "stored_not_acknowledged": len(stored - acked_k),
    }
    return {"sustained": sustained, "kill_9": crash}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="'uid i1 i2 ...' lines")
    parser.add_argument("--model", default=None)
    parser.add_argument("--mode", choices=("reads", "events", "all"), default="all")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--event-clients", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100, help="events per POST")
    parser.add_argument("--event-seconds", type=float, default=20.0)
    parser.add_argument(
        "--query",
        default="",
        help="extra query, e.g. '&exclude_purchased=true' "
        "(filters bypass the start-up cache and score online)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/serve.json")
    args = parser.parse_args()
    lines = [line for line in args.data.read_text().splitlines() if line]
    users = [line.split(maxsplit=1)[0] for line in lines]
    items = sorted({i for line in lines[:2000] for i in line.split()[1:]})
    result: dict[str, Any] = {
        "data": str(args.data),
        "cores": os.cpu_count(),
        "load_average_before": os.getloadavg()[0],
    }
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
        key = json.loads(_cli("--workspace", ws, "keys", "create", "--role", "service", "--json"))[
            "key"
        ]
        result["model"] = (
            args.model
            or json.loads((Path(ws) / "models/recommend/default.json").read_text())["model"]
        )
        _log("workspace ready")
        if args.mode in ("reads", "all"):
            server, port = _start(ws, "--rate-limit", "0")
            _log("reads")
            try:
                n = int(args.rate * args.seconds)
                rng = random.Random(0)
                auth = {"Authorization": f"Bearer {key}"}
                warm = [
                    get(f"/v1/users/{rng.choice(users)}/recommendations?k=10", auth)
                    for _ in range(200)
                ]
                open_loop(port, warm, 200, 8)
                health = open_loop(port, [get("/health")] * n, args.rate, args.connections)
                paths = [
                    get(f"/v1/users/{rng.choice(users)}/recommendations?k=10{args.query}", auth)
                    for _ in range(n)
                ]
                recs = open_loop(port, paths, args.rate, args.connections)
            finally:
                server.terminate()
                server.wait(timeout=120)
            result["reads"] = {
                "rate_rps": args.rate,
                "seconds": args.seconds,
                "authenticated_recommendations": recs,
                "health_baseline": health,
            }
        if args.mode in ("events", "all"):
            result["events"] = {
                "clients": args.event_clients,
                "batch": args.batch,
                **events_benchmark(ws, key, items, args),
            }
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
