"""Console page load times on the simulated 10k-user shop (target: under 1 s per page).

    python benchmarks/console.py [--workspace DIR] [--users 10000] [--days 90] [--repeat 20]

Simulates the shop when ``--workspace`` holds none, starts ``shopmind serve``, signs in as
admin and requests every page the admin's navigation and sub-navigation link to (server
time to the full HTML, over loopback; the browser's drawing of the charts is not included).
The first request of a page is reported apart (``cold``: it computes what later requests
find in the console's per-data-version cache); ``median`` and ``p95`` are over the
``--repeat`` requests after it. Results: benchmarks/results/console.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

from console_server import extra_pages, simulate, start

RESULTS = Path(__file__).parent / "results" / "console.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--settle", type=float, default=0.0, help="Seconds to wait after start-up.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shopmind-console-bench-") as tmp:
        ws = args.workspace or Path(tmp) / "ws"
        simulate(ws, args.users, args.days)
        extra = extra_pages(ws)
        server = start(ws, Path(tmp) / "server.log")
        rows = []
        try:
            client = server.client("admin")
            if args.settle:
                time.sleep(args.settle)  # let the start-up warm-up finish
            found = ["/", *extra]
            for path in found:  # grows with the header and sub-navigation links
                started = time.perf_counter()
                first = client.get(path)  # the first visit: "cold"
                cold = time.perf_counter() - started
                links = re.findall(r'<li><a href="(/[^"]*)"', first.text)
                found += [link for link in links if link not in found]
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append(time.perf_counter() - started)
                    assert answer.status_code == first.status_code
                rows.append(
                    {
                        "page": path,
                        "status": first.status_code,
                        "bytes": len(first.content),
                        "cold_s": round(cold, 4),
                        "median_s": round(statistics.median(times), 4),
                        "p95_s": round(percentile(times, 0.95), 4),
                    }
                )
                print(
                    f"{path:72s} {first.status_code} cold {cold:7.3f} s  "
                    f"median {rows[-1]['median_s']:7.3f} s  p95 {rows[-1]['p95_s']:7.3f} s",
                    flush=True,
                )
        finally:
            server.stop()
    slowest = max(r["p95_s"] for r in rows)
    result = {
        "users": args.users,
        "days": args.days,
        "repeat": args.repeat,
        "settle_s": args.settle,
        "pages": rows,
        "max_p95_s": slowest,
        "max_cold_s": max(r["cold_s"] for r in rows),
        "target_s": 1.0,
        "met": slowest < 1.0,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"slowest p95 {slowest:.3f} s (target < 1 s); results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
