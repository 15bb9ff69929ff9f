"""Ingest throughput against a bare DuckDB load of the same file, timed in the same run.

    python benchmarks/ingest.py [--events 10000000] [--repeat 3]

For each file: rows/s of ``shopmind`` ingest (extract, validate, pseudonymise, deduplicate,
load, all atomic) and of a bare ``read_csv``/``read_parquet`` + ``INSERT`` into a DuckDB file;
the ratio is ours / bare (target: at most 2x). Results go to benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from shopmind.ingest import IngestOptions, ingest_file
from shopmind.simulate import SimulationConfig, simulate_shop
from shopmind.store import Workspace

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
KEY = b"benchmark-key-0123456789"


def bare_load(path: Path, folder: Path) -> float:
    """Seconds for the plain DuckDB load of ``path`` into a table of a new database file."""
    db = folder / "bare.duckdb"
    db.unlink(missing_ok=True)
    reader = (
        f"read_parquet('{path}')"
        if path.suffix == ".parquet"
        else f"read_csv('{path}', header = true)"
    )
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE t AS SELECT * FROM {reader} LIMIT 0")
    start = time.perf_counter()
    con.execute(f"INSERT INTO t SELECT * FROM {reader}")
    con.close()
    return time.perf_counter() - start


def ours(path: Path, fmt: str, folder: Path) -> tuple[float, int]:
    ws_root = folder / "ws"
    shutil.rmtree(ws_root, ignore_errors=True)
    ws = Workspace(ws_root).init()
    start = time.perf_counter()
    report = ingest_file(ws, path, IngestOptions(fmt, key=KEY))
    return time.perf_counter() - start, report.rows_in


def measure(name: str, path: Path, fmt: str, repeat: int, folder: Path) -> dict[str, Any]:
    bare, mine, rows = [], [], 0
    for _ in range(repeat):
        bare.append(bare_load(path, folder))
        seconds, rows = ours(path, fmt, folder)
        mine.append(seconds)
    b, m = statistics.median(bare), statistics.median(mine)
    return {
        "file": name,
        "format": fmt,
        "rows": rows,
        "bare_s": round(b, 3),
        "shopmind_s": round(m, 3),
        "bare_rows_per_s": round(rows / b),
        "shopmind_rows_per_s": round(rows / m),
        "ratio": round(m / b, 2),
    }


def simulated_csv(events: int, folder: Path) -> Path:
    users = max(200, int(events / 118))  # about 118 events per simulated user over 90 days
    shop = simulate_shop(SimulationConfig(users=users, days=90, seed=42))
    frame = shop.events.head(events)
    path = folder / f"simulated_{len(frame)}.csv"
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(f"COPY (SELECT * FROM frame) TO '{path}' (HEADER, DELIMITER ',')")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        retail = DATA / "online_retail" / "online_retail.parquet"
        if retail.exists():
            results.append(
                measure("online_retail.parquet", retail, "online_retail", args.repeat, folder)
            )
        else:
            print(f"skipping online_retail: {retail} not found")
        csv = simulated_csv(args.events, folder)
        results.append(measure(csv.name, csv, "generic", args.repeat, folder))
    for r in results:
        print(
            f"{r['file']:<28} {r['rows']:>11,} rows  bare {r['bare_rows_per_s']:>11,} rows/s  "
            f"shopmind {r['shopmind_rows_per_s']:>11,} rows/s  ratio {r['ratio']:.2f}x"
        )
    out = ROOT / "benchmarks" / "results" / "ingest.json"
    out.write_text(json.dumps({"results": results, "repeat": args.repeat}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
