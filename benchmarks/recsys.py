"""Recommendation quality, training time and peak memory per model per real dataset.

    python benchmarks/recsys.py --datasets beauty diginetica online_retail \
        --models default popularity markov itemknn sknn slist als bpr [--neural-minutes 20]

Protocols (full ranking over all items; tuning on validation only, never on test):
- beauty: Amazon Beauty leave-one-out (last item test, second-to-last validation), the
  user's history excluded, NDCG@10 / HR@10; items carry their category and brand ids
  (``Beauty_item2attributes.json``) for the ``attributes`` model;
- diginetica: SR-GNN split, tuned on the last item of training sessions, refit on all of
  them, tested on ``test_prefixes.tsv`` with nothing excluded, P@20 (= HR@20) / MRR@20;
- online_retail: temporal split, last 30 days test (distinct new items per customer),
  Recall@20 / NDCG@20.
``default`` is what ``recommend train`` does: model selection on validation (candidates:
``shopmind.models.recommend.select.DEFAULT_FAMILIES``; the leaderboard with each family's
validation NDCG and tuning seconds is kept in the result).
Each (dataset, model) runs in its own process so its peak RSS is its own.
Results: benchmarks/results/recsys.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPMIND_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _beauty():
    from shopmind.evaluation.splits import loo_split
    from shopmind.features.sequences import from_lists, item_tags

    lines = [ln.split() for ln in (DATA / "amazon_beauty/Beauty.txt").read_text().splitlines()]
    data = from_lists([ln[1:] for ln in lines], [ln[0] for ln in lines])
    # the items' category and brand ids, as the CLI benchmark ingests them
    from recsys_cli import beauty_categories

    index = data.item_index()
    data.tags = {
        index[item]: item_tags(category, None)
        for item, category in beauty_categories().items()
        if item in index
    }
    split = loo_split(data)
    return split, split.fit_data, split.test, True


def _diginetica():
    from shopmind.evaluation.ranking import Cases
    from shopmind.evaluation.splits import session_split
    from shopmind.features.sequences import from_lists

    folder = DATA / "diginetica"
    data = from_lists(
        [ln.split() for ln in (folder / "train_sessions.txt").read_text().splitlines()],
        kind="sessions",
    )
    index = data.item_index()
    histories, targets = [], []
    for row in (folder / "test_prefixes.tsv").read_text().splitlines()[1:]:
        prefix, target = row.split("\t")
        histories.append(np.array([index[i] for i in prefix.split()], dtype=np.int32))
        targets.append(np.array([index[target]]))
    test = Cases(histories, np.full(len(histories), -1, dtype=np.int64), targets)
    return session_split(data), data, test, False


def _online_retail(workspace: Path):
    from shopmind.evaluation.splits import temporal_split
    from shopmind.models.recommend.workflow import read_sequences
    from shopmind.store import Workspace

    data = read_sequences(Workspace(workspace))
    split = temporal_split(data, 30.0)
    return split, split.fit_data, split.test, True


def one(
    dataset: str, model: str, extra: dict, workspace: Path | None, neural_minutes: float
) -> dict:
    from shopmind.evaluation.ranking import evaluate_scores
    from shopmind.models.recommend.workflow import choose, final_fit

    started = time.perf_counter()
    if dataset == "beauty":
        split, fit_data, test, exclude = _beauty()
    elif dataset == "diginetica":
        split, fit_data, test, exclude = _diginetica()
    else:
        assert workspace is not None
        split, fit_data, test, exclude = _online_retail(workspace)
    k = 20 if dataset == "diginetica" else 10
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    name, config, validation, prefitted = choose(
        split,
        None if model == "default" else model,
        k,
        extra,
        log,
        exclude,
        20_000,
        neural_minutes * 60,
    )
    fit_started = time.perf_counter()
    fitted = final_fit(name, config, fit_data, prefitted, log)
    fit_seconds = time.perf_counter() - fit_started
    metrics = evaluate_scores(fitted.score, test, fit_data.n_items, (10, 20), exclude_seen=exclude)[
        "metrics"
    ]
    return {
        "dataset": dataset,
        "model": model,
        "chosen": name,
        "config": fitted.config.model_dump(),
        "exclude_seen": exclude,
        "cases": len(test),
        "items": fit_data.n_items,
        "fit_seconds": round(fit_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "validation": validation,
        **{
            name: round(value, 5)
            for name, value in metrics.items()
            if name.split("@")[0] in ("hr", "ndcg", "mrr", "recall", "coverage")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["beauty", "diginetica", "online_retail"])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["default", "popularity", "markov", "itemknn", "sknn", "slist", "als", "bpr"],
    )
    parser.add_argument("--config", default="{}", help="hyperparameters for every model (JSON)")
    parser.add_argument(
        "--one", nargs=3, metavar=("DATASET", "MODEL", "WORKSPACE"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--neural-minutes",
        type=float,
        default=0.0,
        help="default model: also train SASRec for up to N minutes",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/recsys.json")
    args = parser.parse_args()
    if args.one:
        dataset, model, ws = args.one
        print(
            json.dumps(
                one(
                    dataset,
                    model,
                    json.loads(args.config),
                    Path(ws) if ws != "-" else None,
                    args.neural_minutes,
                )
            )
        )
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = "-"
        if "online_retail" in args.datasets:
            ws = str(Path(tmp) / "retail")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "shopmind",
                    "--workspace",
                    ws,
                    "ingest",
                    str(DATA / "online_retail/online_retail.parquet"),
                    "--format",
                    "online_retail",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "SHOPMIND_PROFILE": "dev"},
            )
        for dataset in args.datasets:
            for model in args.models:
                proc = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--one",
                        dataset,
                        model,
                        ws,
                        "--config",
                        args.config,
                        "--neural-minutes",
                        str(args.neural_minutes),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"{dataset} {model} failed: {proc.stderr[-800:]}", file=sys.stderr)
                    continue
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                print(json.dumps(row), flush=True)
                results.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.exists() else []
    keep = [
        r
        for r in previous
        if (r["dataset"], r["model"]) not in {(n["dataset"], n["model"]) for n in results}
    ]
    args.out.write_text(json.dumps(keep + results, indent=1))


if __name__ == "__main__":
    main()
