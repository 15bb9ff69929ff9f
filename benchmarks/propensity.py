"""The README's propensity rows on real data, each through the real CLI in a fresh workspace.

    python benchmarks/propensity.py [--data ../shared/data] [--only taobao_purchase]
        [--out benchmarks/results/propensity.json]

Rows: Online Retail purchase (30d, cutoff 2011-11-01 UTC), Online Retail churn (60d, cutoff
2011-10-01 UTC), Online Shoppers (tabular mode, label Revenue), Taobao head purchase (2d,
cutoff 2017-12-02 00:00 China time). Each ingests the file (ids kept; not in tabular mode),
runs ``shopmind propensity train ... --json`` and keeps the test metrics of the chosen model,
LightGBM, logistic regression and the recency ranking, the validation AUCs the choice was
made on, and the exact commands. Set OPENBLAS_NUM_THREADS=1 on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

ROWS: dict[str, dict[str, Any]] = {
    "online_retail_purchase": {
        "file": "online_retail/online_retail.parquet",
        "format": "online_retail",
        "train": [
            "--target",
            "purchase",
            "--horizon",
            "30d",
            "--cutoff",
            "2011-11-01T00:00:00+00:00",
        ],
    },
    "online_retail_churn": {
        "file": "online_retail/online_retail.parquet",
        "format": "online_retail",
        "train": ["--target", "churn", "--horizon", "60d", "--cutoff", "2011-10-01T00:00:00+00:00"],
    },
    "online_shoppers_tabular": {
        "file": "online_shoppers/online_shoppers_intention.csv",
        "format": None,  # tabular mode: a labelled file, no ingest
        "train": ["--data", "FILE", "--label", "Revenue"],
    },
    "taobao_purchase": {
        "file": "taobao_userbehavior/UserBehavior_head.csv",
        "format": "taobao_userbehavior",
        "train": [
            "--target",
            "purchase",
            "--horizon",
            "2d",
            "--cutoff",
            "2017-12-02T00:00:00+08:00",
        ],
    },
}
KEPT = (
    "rows",
    "positive_rate_test",
    "chosen",
    "validation_roc_auc",
    "best_single_feature",
    "chosen_model",
    "lightgbm",
    "logistic_regression",
    "recency_only",
    "shift",
)


def _cli(*args: str) -> dict[str, Any]:
    env = {**os.environ, "SHOPMIND_PROFILE": os.environ.get("SHOPMIND_PROFILE", "dev")}
    proc = subprocess.run(
        [sys.executable, "-m", "shopmind", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"shopmind {' '.join(args)} failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def ingest_row(name: str, data: Path, scratch: Path) -> Path:
    """A fresh workspace under ``scratch`` with the row's file ingested (ids kept); none is
    written in tabular mode. Returns the workspace folder."""
    row = ROWS[name]
    ws = scratch / name
    if row["format"]:
        ingest = ["--workspace", str(ws), "ingest", str(data / row["file"])]
        _cli(*ingest, "--format", row["format"], "--pseudonymize", "off", "--json")
    return ws


def run_row(name: str, data: Path, scratch: Path) -> dict[str, Any]:
    row = ROWS[name]
    ws = ingest_row(name, data, scratch)
    train = ["--workspace", "WS", "propensity", "train", *row["train"], "--json"]
    actual = {"WS": str(ws), "FILE": str(data / row["file"])}
    started = time.perf_counter()
    report = _cli(*[actual.get(a, a) for a in train])
    seconds = time.perf_counter() - started
    return {
        "command": "shopmind " + " ".join(train),
        "train_seconds": round(seconds, 1),
        **{k: _rounded(report[k]) for k in KEPT if k in report},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--only", choices=sorted(ROWS), action="append")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/propensity.json")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.out.exists() and args.only:  # a partial rerun keeps the other rows
        results = json.loads(args.out.read_text()).get("rows", {})
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.only or list(ROWS):
            results[name] = run_row(name, args.data, Path(scratch))
            chosen = results[name]["chosen_model"]
            print(f"{name}: chosen {results[name]['chosen']} test ROC-AUC {chosen['roc_auc']}")
    out = {
        "script": "python benchmarks/propensity.py",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": results,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
