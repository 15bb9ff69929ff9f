"""Recommendation quality through the CLI, exactly as a user runs it (README "Recommendation").

    python benchmarks/recsys_cli.py --datasets beauty diginetica [--neural-minutes N]

- beauty: Amazon Beauty with each user's last item held out. ``ingest`` of the shortened
  ``Beauty.txt`` (``--format sequences --pseudonymize off``) and of the items' category and
  brand ids from ``Beauty_item2attributes.json`` (an items CSV, ``category`` = the ids
  joined by ``|``; ``--format generic --table items``), the default ``recommend
  train``, ``recommend batch --k 10``; each list is scored against the held-out item
  (full ranking, the user's history excluded by ``batch``): NDCG@10, HR@10.
- diginetica: SR-GNN split. ``ingest train_sessions.txt --format sessions --pseudonymize
  off``, the default ``recommend train``, ``recommend next --k 20`` on the prefixes of
  ``test_prefixes.tsv``; scored against their targets: P@20 (= HR@20) and MRR@20, in %.

Each step runs in its own process (wall time and peak RSS per step). One test pass; the
model is chosen by ``recommend train`` on its own validation split. ``--neural-minutes N``
passes the same option to ``recommend train`` (the data kind's neural family trains for at
most N minutes and may join the blend).
Results: ``benchmarks/results/recsys_cli_<dataset>.json`` (``..._neural<N>.json`` with
``--neural-minutes``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPMIND_SHARED_DATA", ROOT.parent / "shared" / "data"))


def step(workspace: Path, *args: str) -> dict[str, Any]:
    """Run ``shopmind --workspace WS ARGS`` in its own process: seconds, peak MB, stdout."""
    command = [sys.executable, "-m", "shopmind", "--workspace", str(workspace), *args]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, env={**os.environ, "SHOPMIND_PROFILE": "dev"}
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"`shopmind {' '.join(args)}` failed:\n{stderr[-2000:]}")
    print(f"shopmind {' '.join(args[:2])}: {seconds:.1f}s", file=sys.stderr, flush=True)
    return {
        "command": "shopmind " + " ".join(args),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "stdout": stdout,
    }


def _summary(train: dict[str, Any]) -> dict[str, Any]:
    summary = json.loads(train["stdout"])
    return {
        "chosen": summary["model"],
        "config": summary["config"],
        "validation_ndcg": summary["validation"].get("validation_ndcg"),
        "leaderboard": summary["validation"].get("leaderboard"),
    }


def train_args(neural_minutes: float) -> list[str]:
    """``recommend train`` as the benchmark runs it."""
    extra = ["--neural-minutes", f"{neural_minutes:g}"] if neural_minutes > 0 else []
    return ["recommend", "train", "--json", "--quiet", *extra]


def beauty(tmp: Path, neural_minutes: float = 0.0) -> dict[str, Any]:
    lines = [ln.split() for ln in (DATA / "amazon_beauty/Beauty.txt").read_text().splitlines()]
    held = {ln[0]: ln[-1] for ln in lines}
    train_file = tmp / "beauty_train.txt"
    train_file.write_text("".join(" ".join(ln[:-1]) + "\n" for ln in lines))
    ws = tmp / "beauty_ws"
    ingest = step(ws, "ingest", str(train_file), "--format", "sequences", "--pseudonymize", "off")
    items = beauty_items_csv(tmp / "beauty_items.csv")
    ingest_items = step(ws, "ingest", str(items), "--format", "generic", "--table", "items")
    train = step(ws, *train_args(neural_minutes))
    recs = tmp / "beauty_recs.csv"
    batch = step(ws, "recommend", "batch", "--k", "10", "--out", str(recs), "--no-reasons")
    ranks: dict[str, int] = {}
    with recs.open() as f:
        for row in csv.DictReader(f):
            if held.get(row["user_id"]) == row["item_id"]:
                ranks[row["user_id"]] = int(row["rank"])
    gains = np.array([1.0 / np.log2(ranks[u] + 1) if u in ranks else 0.0 for u in held])
    return {
        "protocol": "Amazon Beauty, each user's last item held out; CLI default model; "
        "recommend batch --k 10 (history excluded); full ranking",
        "users": len(held),
        "ndcg@10": round(float(gains.mean()), 5),
        "hr@10": round(float((gains > 0).mean()), 5),
        **_summary(train),
        "steps": [
            {k: v for k, v in s.items() if k != "stdout"}
            for s in (ingest, ingest_items, train, batch)
        ],
    }


def beauty_categories() -> dict[str, str]:
    """Item id -> its attribute ids in ``Beauty_item2attributes.json`` (categories and brand,
    unlabelled in the file) as one ``|``-separated category list (also ``recsys.py``'s)."""
    attributes = json.loads((DATA / "amazon_beauty/Beauty_item2attributes.json").read_text())
    return {item: "|".join(str(i) for i in ids) for item, ids in attributes.items()}


def beauty_items_csv(path: Path) -> Path:
    """``item_id,category`` from :func:`beauty_categories`, for ``ingest --table items``."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "category"])
        writer.writerows(beauty_categories().items())
    return path


def diginetica(tmp: Path, neural_minutes: float = 0.0) -> dict[str, Any]:
    folder = DATA / "diginetica"
    ws = tmp / "diginetica_ws"
    ingest = step(
        ws,
        "ingest",
        str(folder / "train_sessions.txt"),
        "--format",
        "sessions",
        "--pseudonymize",
        "off",
    )
    train = step(ws, *train_args(neural_minutes))
    rows = [r.split("\t") for r in (folder / "test_prefixes.tsv").read_text().splitlines()[1:]]
    prefixes = tmp / "prefixes.txt"
    prefixes.write_text("".join(prefix + "\n" for prefix, _ in rows))
    out = tmp / "next.csv"
    nxt = step(
        ws, "recommend", "next", "--input", str(prefixes), "--out", str(out), "--k", "20", "--json"
    )
    ranks: dict[int, int] = {}
    with out.open() as f:
        for row in csv.DictReader(f):
            case = int(row["case_id"])
            if rows[case - 1][1] == row["item_id"] and case not in ranks:
                ranks[case] = int(row["rank"])
    hit = np.array([case in ranks for case in range(1, len(rows) + 1)])
    rr = np.array([1.0 / ranks[c] if c in ranks else 0.0 for c in range(1, len(rows) + 1)])
    return {
        "protocol": "Diginetica SR-GNN split; CLI default model; recommend next --k 20 on "
        "test_prefixes.tsv (nothing excluded); full ranking",
        "cases": len(rows),
        "unknown_items_dropped": json.loads(nxt["stdout"]).get("unknown_items_dropped"),
        "p@20": round(100 * float(hit.mean()), 2),
        "mrr@20": round(100 * float(rr.mean()), 2),
        **_summary(train),
        "steps": [{k: v for k, v in s.items() if k != "stdout"} for s in (ingest, train, nxt)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--datasets", nargs="+", default=["beauty", "diginetica"], choices=["beauty", "diginetica"]
    )
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks/results")
    parser.add_argument(
        "--neural-minutes", type=float, default=0.0, help="recommend train --neural-minutes"
    )
    args = parser.parse_args()
    for dataset in args.datasets:
        run = beauty if dataset == "beauty" else diginetica
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = run(Path(tmp), args.neural_minutes)
            result["total_seconds"] = round(time.perf_counter() - started, 1)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        suffix = f"_neural{args.neural_minutes:g}" if args.neural_minutes > 0 else ""
        path = args.out_dir / f"recsys_cli_{dataset}{suffix}.json"
        path.write_text(json.dumps({"dataset": dataset, **result}, indent=1))
        print(json.dumps({k: v for k, v in result.items() if k not in ("leaderboard",)}))


if __name__ == "__main__":
    main()
