"""SASRec / GRU4Rec on Amazon Beauty, leave-one-out, full ranking, history excluded.

The SASRec protocol (Kang & McAuley 2018): train on ``seq[:-2]``, stop early on the
second-to-last item, test on the last item with ``seq[:-1]`` as input. Prints one JSON
line per model: epochs, seconds per epoch, validation and test NDCG@10 / HR@10.

    python benchmarks/sequential.py --data ../shared/data/amazon_beauty/Beauty.txt \
        --models sasrec gru4rec --device cuda --out benchmarks/results/sequential_gpu.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from shopmind.evaluation.ranking import evaluate_scores
from shopmind.evaluation.splits import loo_split, subsample
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.registry import model_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["sasrec", "gru4rec"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--config", default="{}", help="extra hyperparameters as JSON")
    parser.add_argument("--validation-cases", type=int, default=5000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = [line.split() for line in args.data.read_text().splitlines() if line.strip()]
    data = from_lists([line[1:] for line in lines], [line[0] for line in lines])
    split = loo_split(data)
    validation = subsample(split.validation, args.validation_cases)
    results = []
    for name in args.models:
        model = model_class(name)(
            epochs=args.epochs,
            device=args.device,
            max_minutes=args.max_minutes,
            **json.loads(args.config),
        )
        model.progress = lambda message: print(message, flush=True)
        started = time.perf_counter()
        model.fit(split.tune_data, validation)
        seconds = time.perf_counter() - started
        test = evaluate_scores(model.score, split.test, data.n_items, (10, 20))["metrics"]
        result = {
            "model": name,
            "device": args.device,
            "config": model.config.model_dump(),
            "best_epoch": model.best_epoch_,
            "train_seconds": round(seconds, 1),
            "last_epoch_seconds": round(model.epoch_seconds_, 2),
            "validation_ndcg@10": model.best_validation_,
            "test_ndcg@10": test["ndcg@10"],
            "test_hr@10": test["hr@10"],
            "test_ndcg@20": test["ndcg@20"],
            "cases": len(split.test),
            "protocol": "leave-one-out, full ranking, history excluded",
        }
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
