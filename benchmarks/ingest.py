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
goes. ``--floor`` adds, for a generic events CSV, the least work the ingest contract asks
beyond the bare load, each step timed on its own in this process on a new database file:
the file's sha256 (idempotent re-loads), the keyed pseudonym of each distinct user id, the
load itself with pseudonymised user ids, the duplicate-key check, and the derived ``users``,
``items``, ``orders`` and ``order_items`` tables (at their simplest: distinct ids, per-order
sums). No validation, quarantine or vault is in it: ``floor_ratio`` is their sum, one step
after another as a plain design would run them, over the bare load. ``floor_validated_*``
replaces that load with the same one through the ingest's own validation SQL (rows with a
reason left out; timed on a second new database file): what one pass that validates
straight into the table would cost. Results go to benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
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


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # this process, all its threads
    return r.ru_utime + r.ru_stime


def floor(path: Path, folder: Path) -> dict[str, Any]:
    """Seconds (wall and CPU) of the least work the ingest contract adds to the bare load of a
    generic events CSV, step by step (see the module docstring); ``total_s`` is their sum,
    ``validated_total_s`` the same with the load through the validation SQL."""
    from shopmind.privacy import pseudonymize_sql

    reader = f"read_csv('{path}', header = true)"
    pseudo = pseudonymize_sql("user_id", KEY, prefix="u_")
    uids = (
        f"CREATE TEMP TABLE uids AS SELECT user_id, {pseudo} AS pseudo "
        f"FROM (SELECT DISTINCT user_id FROM {reader} WHERE user_id IS NOT NULL)"
    )
    steps = {
        "pseudonyms": uids,
        "load": f"INSERT INTO t SELECT r.* REPLACE (u.pseudo AS user_id) FROM {reader} r "
        "LEFT JOIN uids u USING (user_id)",
        "key_check": "SELECT count(*) - count(DISTINCT event_id) FROM t",
        "users": "CREATE TABLE users AS SELECT DISTINCT user_id FROM t WHERE user_id IS NOT NULL",
        "items": "CREATE TABLE items AS SELECT DISTINCT item_id FROM t WHERE item_id IS NOT NULL",
        "order_items": "CREATE TABLE order_items AS SELECT order_id, event_id, item_id, quantity, "
        "price, quantity * price AS amount FROM t WHERE event_type = 'purchase' "
        "AND order_id IS NOT NULL",
        "orders": "CREATE TABLE orders AS SELECT order_id, any_value(user_id) AS user_id, "
        "min(ts) AS ts, sum(quantity * price) AS amount FROM t WHERE event_type = 'purchase' "
        "AND order_id IS NOT NULL GROUP BY order_id",
    }
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    start, cpu0 = time.perf_counter(), _cpu()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    wall["sha256"], cpu["sha256"] = time.perf_counter() - start, _cpu() - cpu0
    con = duckdb.connect(str(_new_file(folder / "floor.duckdb")))
    con.execute(f"CREATE TABLE t AS SELECT * FROM {reader} LIMIT 0")
    for name, sql in steps.items():
        start, cpu0 = time.perf_counter(), _cpu()
        con.execute(sql).fetchall()
        wall[name], cpu[name] = time.perf_counter() - start, _cpu() - cpu0
    start, cpu0 = time.perf_counter(), _cpu()
    con.close()
    wall["close"], cpu["close"] = time.perf_counter() - start, _cpu() - cpu0
    validated = _validated_load(path, folder, uids)
    total = sum(wall.values())
    return {
        "steps_s": {k: round(v, 3) for k, v in wall.items()},
        "steps_cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "total_s": round(total, 3),
        "validated_load_s": round(validated[0], 3),
        "validated_load_cpu_s": round(validated[1], 3),
        "validated_total_s": round(total - wall["load"] + validated[0], 3),
    }


def _new_file(db: Path) -> Path:
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    return db


def _validated_load(path: Path, folder: Path, uids: str) -> tuple[float, float]:
    """Wall and CPU seconds of the floor's load through the ingest's validation SQL (rows
    with a reason left out, user ids pseudonymised), into a table of a second new file."""
    con = duckdb.connect(str(_new_file(folder / "floor-validated.duckdb")))
    con.execute(uids)  # the pseudonyms, as in the floor (not timed again)
    staged, reader_view = _validation_sql(con, path, folder)
    from shopmind.ingest.formats.event_tables import EVENT_COLUMNS

    columns = ", ".join(  # the canonical columns the benchmark's CSV holds (no rating)
        "u.pseudo AS user_id" if c == "user_id" else f"s.{c}"
        for c in EVENT_COLUMNS
        if c != "rating"
    )
    select = (
        f"SELECT {columns} FROM ({staged}) s "
        "LEFT JOIN uids u ON s.user_id = u.user_id WHERE s._reason IS NULL"
    )
    with reader_view():
        con.execute(f"CREATE TABLE v AS {select} LIMIT 0")
        start, cpu0 = time.perf_counter(), _cpu()
        con.execute(f"INSERT INTO v {select}").fetchall()
        seconds = time.perf_counter() - start, _cpu() - cpu0
    con.close()
    return seconds


def _validation_sql(
    con: duckdb.DuckDBPyConnection, path: Path, folder: Path
) -> tuple[str, Callable[[], AbstractContextManager[None]]]:
    """The ingest's validation SELECT for ``path`` (the generic events format, read the way
    ``shopmind ingest`` streams a clean CSV), and the context in which it reads the file."""
    from shopmind.ingest.context import Context, IngestOptions
    from shopmind.ingest.extract import extract, unnumbered_raw
    from shopmind.ingest.formats import get_format
    from shopmind.ingest.pipeline import _resolve_columns
    from shopmind.ingest.textscan import scan_text
    from shopmind.privacy.pii import register_redactor

    fmt = get_format("generic")
    register_redactor(con)
    extracted = extract(con, path, fmt.reader, folder, scan_text(path), stream=True)
    ctx = Context(path, IngestOptions(format="generic", key=KEY), extracted, "", "ing_floor")
    _resolve_columns(con, fmt, ctx)
    return fmt.staged_sql(ctx), lambda: unnumbered_raw(con, extracted)


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
    name: str,
    path: Path,
    fmt: str,
    repeat: int,
    folder: Path,
    with_stages: bool = False,
    with_floor: bool = False,
) -> dict[str, Any]:
    bare, mine, library, floors, rows = [], [], [], [], 0
    for _ in range(repeat):  # in turns, so all see the same machine load
        bare.append(bare_load(path, folder))
        seconds, inside, rows = ours(path, fmt, folder)
        mine.append(seconds)
        library.append(inside)
        said = f"  {name}: bare {bare[-1]:.2f} s, shopmind {seconds:.2f} s"
        if with_floor:
            floors.append(floor(path, folder))
            said += f", floor {floors[-1]['total_s']:.2f} s"
            said += f" ({floors[-1]['validated_total_s']:.2f} s validated)"
        print(said, flush=True)
    b, m = statistics.median(bare), statistics.median(mine)
    extra: dict[str, Any] = {"stages_s": stages(path, fmt, folder)} if with_stages else {}
    if floors:
        least = sorted(floors, key=lambda f: f["total_s"])[len(floors) // 2]  # the median run
        extra |= {
            "floor_s": least["total_s"],
            "floor_ratio": round(least["total_s"] / b, 2),
            "floor_steps_s": least["steps_s"],
            "floor_steps_cpu_s": least["steps_cpu_s"],
            "floor_all_s": [f["total_s"] for f in floors],
            "floor_validated_s": least["validated_total_s"],
            "floor_validated_ratio": round(least["validated_total_s"] / b, 2),
            "floor_validated_load_s": least["validated_load_s"],
            "floor_validated_load_cpu_s": least["validated_load_cpu_s"],
            "floor_validated_all_s": [f["validated_total_s"] for f in floors],
        }
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
    parser.add_argument(
        "--floor", action="store_true", help="also time the contract's least work (CSV only)"
    )
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
        results.append(
            measure(csv.name, csv, "generic", args.repeat, folder, args.stages, args.floor)
        )
    for r in results:
        print(
            f"{r['file']:<28} {r['rows']:>11,} rows  bare {r['bare_rows_per_s']:>11,} rows/s  "
            f"shopmind {r['shopmind_rows_per_s']:>11,} rows/s  ratio {r['ratio']:.2f}x"
            + (
                f"  floor {r['floor_ratio']:.2f}x ({r['floor_validated_ratio']:.2f}x validated)"
                if "floor_ratio" in r
                else ""
            )
        )
    out = args.out
    out.write_text(json.dumps({"results": results, "repeat": args.repeat}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
