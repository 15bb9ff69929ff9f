"""Accuracy of differentially private segment releases on Online Retail.

    python benchmarks/dp.py [--releases 20] [--epsilons 1 0.1] [--upper 5000] [--json]

Ingests ../shared/data/online_retail into a temporary workspace, then makes ``--releases``
real releases (``shopmind.analytics.private.release_segments``: OpenDP, ledger, budget) at
each epsilon and reports, per RFM segment, the median relative error |noisy - true| / true of
the customer count and of net revenue (the true value is the unclamped net revenue, so the
error includes the clamping bias at ``--upper``). Epsilon is per release, split evenly between
counts and sums. Finally a release beyond the budget is attempted and must be refused.
Results: benchmarks/results/dp.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.parquet"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 0.1])
    parser.add_argument("--upper", type=float, default=5000.0)
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is missing (../shared/data is absent)", file=sys.stderr)
        return 0

    from shopmind.analytics.private import RFM_KEYS, release_segments, segment_records
    from shopmind.features.tables import duckdb_tables
    from shopmind.ingest import IngestOptions, ingest_file
    from shopmind.store import Workspace
    from shopmind.store.privacy_budget import BudgetExceededError, set_budget, status

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ingest_file(
            ws, args.data, IngestOptions(format="online_retail", key=b"bench-dp-0123456789")
        )
        total = args.releases * sum(args.epsilons)
        set_budget(ws, total, principal="benchmark")
        with duckdb_tables(ws) as tables:
            records = segment_records(tables)
        true_n = {k: 0 for k in RFM_KEYS}
        true_sum = {k: 0.0 for k in RFM_KEYS}
        clamped = {k: 0.0 for k in RFM_KEYS}
        for key, net in records:
            true_n[key] += 1
            true_sum[key] += net
            clamped[key] += min(max(net, 0.0), args.upper)
        runs: dict[str, Any] = {}
        for epsilon in args.epsilons:
            errors: dict[str, dict[str, list[float]]] = {
                k: {"customers": [], "net_revenue": [], "noise_only": []}
                for k in RFM_KEYS
                if true_n[k]
            }
            started = time.perf_counter()
            noise: dict[str, Any] = {}
            for _ in range(args.releases):
                result = release_segments(
                    ws, epsilon, principal="benchmark", bounds=(0, args.upper)
                )
                noise = result["noise"]
                for row in result["rows"]:
                    key = row["segment"]
                    if key not in errors:
                        continue
                    errors[key]["customers"].append(
                        abs(row["customers"] - true_n[key]) / true_n[key]
                    )
                    errors[key]["net_revenue"].append(
                        abs(row["net_revenue"] - true_sum[key]) / abs(true_sum[key])
                    )
                    errors[key]["noise_only"].append(
                        abs(row["net_revenue"] - clamped[key]) / max(clamped[key], 1e-9)
                    )
            runs[str(epsilon)] = {
                "seconds_per_release": round((time.perf_counter() - started) / args.releases, 3),
                "noise_scale": {n: v["scale"] for n, v in noise.items()},
                "segments": {
                    key: {
                        "customers": true_n[key],
                        "net_revenue": round(true_sum[key], 2),
                        "clamping_bias": round(
                            abs(clamped[key] - true_sum[key]) / abs(true_sum[key]), 4
                        ),
                        "median_rel_error_customers": round(statistics.median(e["customers"]), 4),
                        "median_rel_error_net_revenue_vs_clamped": round(
                            statistics.median(e["noise_only"]), 4
                        ),
                        "median_rel_error_net_revenue": round(
                            statistics.median(e["net_revenue"]), 4
                        ),
                    }
                    for key, e in errors.items()
                },
            }
        spent = status(ws, limit=0)
        try:
            release_segments(ws, 0.5, principal="benchmark")
            refusal = "NOT REFUSED"
        except BudgetExceededError as exc:
            refusal = str(exc.args[0])
        after = status(ws, limit=0)
    report = {
        "data": str(args.data.relative_to(ROOT.parent))
        if args.data.is_relative_to(ROOT.parent)
        else str(args.data),
        "customers": len(records),
        "releases_per_epsilon": args.releases,
        "bounds": {"net_revenue_per_customer": [0.0, args.upper], "segments_per_customer": 1},
        "epsilon_split": "half to counts (discrete Laplace), half to sums (Laplace)",
        "runs": runs,
        "budget": {
            "total": spent["epsilon_total"],
            "spent": spent["epsilon_spent"],
            "releases": spent["releases"],
        },
        "beyond_budget": {
            "refused": refusal != "NOT REFUSED",
            "message": refusal,
            "ledger_unchanged": after["releases"] == spent["releases"],
        },
    }
    out = ROOT / "benchmarks" / "results" / "dp.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report))
        return 0 if report["beyond_budget"]["refused"] else 1
    print(
        f"Online Retail: {len(records)} customers, {args.releases} releases per epsilon, "
        f"net revenue per customer clamped to [0, {args.upper:g}]"
    )
    header = f"{'segment':<20} {'customers':>9} {'clamp bias':>10}"
    for epsilon in args.epsilons:
        header += f" {'count e=' + format(epsilon, 'g'):>12} {'sum e=' + format(epsilon, 'g'):>12}"
    print(header)
    for key in runs[str(args.epsilons[0])]["segments"]:
        first = runs[str(args.epsilons[0])]["segments"][key]
        line = f"{key:<20} {first['customers']:>9} {first['clamping_bias']:>10.2%}"
        for epsilon in args.epsilons:
            seg = runs[str(epsilon)]["segments"][key]
            count, net = seg["median_rel_error_customers"], seg["median_rel_error_net_revenue"]
            line += f" {count:>12.2%} {net:>12.2%}"
        print(line)
    for epsilon in args.epsilons:
        print(f"epsilon {epsilon:g}: noise scale {runs[str(epsilon)]['noise_scale']}")
    print(
        f"beyond the budget: {'refused' if report['beyond_budget']['refused'] else 'NOT REFUSED'}: "
        f"{refusal}"
    )
    return 0 if report["beyond_budget"]["refused"] else 1


if __name__ == "__main__":
    sys.exit(main())
