"""Ingest throughput against a bare DuckDB load of the same file, timed in the same run.

    python benchmarks/ingest.py [--events 10000000] [--csv FILE] [--repeat 3] [--stages]

For each file, in turns: the wall time of the ``shopmind ingest`` command into a new
workspace (a separate process: CLI start-up, extract, validate, pseudonymise, deduplicate,
vault, load, commit, all atomic) and of a bare ``read_csv``/``read_parquet`` + ``INSERT`` into
a new DuckDB file (in this process, start-up not counted). The ratio is ours / bare, medians
of ``--repeat`` turns (target: at most 1.5x for files over 1M rows); ``library_s`` is the
ingest's own time as it reports it (no start-up). ``--csv`` reuses a generated file instead
of simulating one. ``--stages`` adds, per file, one more load through the library
(``ingest_file`` in this process, no start-up) that times each stage the progress callback
names (hash and line scan, extract, validate into the staging table, deduplicate, load into
``events`` and the derived tables and the vault, commit): where the time above the bare load
goes. Results go to benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

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


def ours(path: Path, fmt: str, folder: Path) -> tuple[float, float, int]:
    """Wall seconds of ``shopmind ingest`` into a new workspace, the seconds it reports,
    and the rows read."""
    ws_root = folder / "ws"
    shutil.rmtree(ws_root, ignore_errors=True)
    env = {**os.environ, "SHOPMIND_PSEUDONYMIZE_KEY": KEY.decode(), "SHOPMIND_PROFILE": "local"}
    command = [sys.executable, "-m", "shopmind", "--workspace", str(ws_root), "ingest"]
    command += [str(path), "--format", fmt, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"shopmind ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return seconds, float(report["seconds"]), int(report["rows_in"])


def stages(path: Path, fmt: str, folder: Path) -> dict[str, float]:
    """Seconds of each ingest stage (named by the pipeline's progress callback), one load
    through the library into a new workspace."""
    from shopmind.ingest.context import IngestOptions
    from shopmind.ingest.pipeline import ingest_file
    from shopmind.store import Workspace

    ws_root = folder / "ws-stages"
    shutil.rmtree(ws_root, ignore_errors=True)
    marks: list[tuple[str, float]] = []
    ingest_file(
        Workspace(ws_root),
        path,
        IngestOptions(format=fmt, key=KEY),
        lambda stage: marks.append((stage, time.perf_counter())),
    )
    ended = time.perf_counter()
    ends = [at for _, at in marks[1:]] + [ended]
    return {stage: round(end - at, 3) for (stage, at), end in zip(marks, ends, strict=True)}


def measure(
    name: str, path: Path, fmt: str, repeat: int, folder: Path, with_stages: bool = False
) -> dict[str, Any]:
    bare, mine, library, rows = [], [], [], 0
    for _ in range(repeat):
        bare.append(bare_load(path, folder))
        seconds, inside, rows = ours(path, fmt, folder)
        mine.append(seconds)
        library.append(inside)
        print(f"  {name}: bare {bare[-1]:.2f} s, shopmind {seconds:.2f} s", flush=True)
    b, m = statistics.median(bare), statistics.median(mine)
    extra = {"stages_s": stages(path, fmt, folder)} if with_stages else {}
    return {
        "file": name,
        "format": fmt,
        "rows": rows,
        "bare_s": round(b, 3),
        "shopmind_s": round(m, 3),
        "library_s": round(statistics.median(library), 3),
        "bare_rows_per_s": round(rows / b),
        "shopmind_rows_per_s": round(rows / m),
        "ratio": round(m / b, 2),
        "bare_all_s": [round(x, 3) for x in bare],
        "shopmind_all_s": [round(x, 3) for x in mine],
        **extra,
    }


def simulated_csv(events: int, folder: Path) -> Path:
    from shopmind.simulate import SimulationConfig, simulate_shop

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
    parser.add_argument("--csv", type=Path, help="a generated events CSV to use as it is")
    parser.add_argument("--skip-retail", action="store_true", help="only the CSV")
    parser.add_argument("--stages", action="store_true", help="also time each ingest stage")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        retail = DATA / "online_retail" / "online_retail.parquet"
        if args.skip_retail:
            pass
        elif retail.exists():
            results.append(
                measure(
                    "online_retail.parquet",
                    retail,
                    "online_retail",
                    args.repeat,
                    folder,
                    args.stages,
                )
            )
        else:
            print(f"skipping online_retail: {retail} not found")
        csv = args.csv or simulated_csv(args.events, folder)
        results.append(measure(csv.name, csv, "generic", args.repeat, folder, args.stages))
    for r in results:
        print(
            f"{r['file']:<28} {r['rows']:>11,} rows  bare {r['bare_rows_per_s']:>11,} rows/s  "
            f"shopmind {r['shopmind_rows_per_s']:>11,} rows/s  ratio {r['ratio']:.2f}x"
        )
    out = args.out
    out.write_text(json.dumps({"results": results, "repeat": args.repeat}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
