"""Run the atomic-load (SIGKILL) tests many times in a row and record every outcome.

    python benchmarks/atomic_loop.py [--runs 20] [--out benchmarks/results/atomic_loop.json]

Each run is a separate ``pytest tests/ingest/test_atomic_load.py`` process, as in a full
``make test``; the result file lists pass/fail and seconds per run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = "tests/ingest/test_atomic_load.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/atomic_loop.json")
    args = parser.parse_args()
    runs = []
    for n in range(1, args.runs + 1):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", TESTS, "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = round(time.perf_counter() - started, 1)
        last = (proc.stdout.strip().splitlines() or [""])[-1]
        runs.append({"run": n, "passed": proc.returncode == 0, "seconds": seconds, "summary": last})
        print(
            f"run {n}/{args.runs}: {'pass' if proc.returncode == 0 else 'FAIL'} "
            f"({seconds} s) {last}",
            flush=True,
        )
    result = {
        "tests": TESTS,
        "runs": len(runs),
        "passed": sum(r["passed"] for r in runs),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "details": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['passed']}/{result['runs']} runs passed -> {args.out}")
    return 0 if result["passed"] == result["runs"] else 1


if __name__ == "__main__":
    sys.exit(main())
