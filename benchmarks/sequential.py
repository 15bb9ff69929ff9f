"""SASRec / GRU4Rec on Amazon Beauty, leave-one-out, full ranking, history excluded.

The SASRec protocol (Kang & McAuley 2018): train on ``seq[:-2]``, stop early on the
second-to-last item, test on the last item with ``seq[:-1]`` as input. Prints one JSON
line per model: epochs, seconds per epoch (last and median), validation and test NDCG@10 /
HR@10; on CUDA also the peak GPU memory (``torch.cuda.max_memory_allocated``) and the mean GPU
utilisation while training (``nvidia-smi`` sampled every 0.5 s), and, with
``--reference-epoch-seconds`` (2.00 for the public SASRec implementation on an H200), the
ratio of the median epoch to it (issue 9's target: at most 0.5).

    python benchmarks/sequential.py --data ../shared/data/amazon_beauty/Beauty.txt \
        --models sasrec gru4rec --device cuda --out benchmarks/results/sequential_gpu.json
    python benchmarks/sequential.py --data ... --models sasrec --device cuda \
        --config '{"batch_size": 1024, "lr_scaling": "sqrt", "precision": "bf16"}' \
        --reference-epoch-seconds 2.0
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from shopmind.evaluation.ranking import evaluate_scores
from shopmind.evaluation.splits import loo_split, subsample
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.registry import model_class


class GpuSampler:
    """Mean GPU utilisation (percent) from ``nvidia-smi``, sampled every ``every`` seconds
    while the ``with`` block runs; None without nvidia-smi or samples."""

    def __init__(self, enabled: bool, every: float = 0.5) -> None:
        self.enabled = enabled
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        command = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.wait(self.every):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return
            self.samples.append(float(done.stdout.split()[0]))

    def __enter__(self) -> GpuSampler:
        if self.enabled and shutil.which("nvidia-smi"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return round(statistics.fmean(self.samples), 1) if self.samples else None


def gpu_facts(device: str) -> dict[str, Any]:
    """The GPU's name and the peak memory allocated since the last reset (MiB)."""
    if device != "cuda":
        return {}
    import torch

    return {
        "gpu": torch.cuda.get_device_name(),
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["sasrec", "gru4rec"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--config", default="{}", help="extra hyperparameters as JSON")
    parser.add_argument("--validation-cases", type=int, default=5000)
    parser.add_argument("--reference-epoch-seconds", type=float, default=None)
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
        if args.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        with GpuSampler(enabled=args.device == "cuda") as sampler:
            model.fit(split.tune_data, validation)
        seconds = time.perf_counter() - started
        median_epoch = statistics.median(model.epoch_times_)
        test = evaluate_scores(model.score, split.test, data.n_items, (10, 20))["metrics"]
        result = {
            "model": name,
            "device": args.device,
            "config": model.config.model_dump(),
            "best_epoch": model.best_epoch_,
            "train_seconds": round(seconds, 1),
            "last_epoch_seconds": round(model.epoch_times_[-1], 2),
            "median_epoch_seconds": round(median_epoch, 3),
            **gpu_facts(args.device),
            "gpu_utilisation_pct": sampler.mean,
            "validation_ndcg@10": model.best_validation_,
            "test_ndcg@10": test["ndcg@10"],
            "test_hr@10": test["hr@10"],
            "test_ndcg@20": test["ndcg@20"],
            "cases": len(split.test),
            "protocol": "leave-one-out, full ranking, history excluded",
        }
        if args.reference_epoch_seconds:
            result["reference_epoch_seconds"] = args.reference_epoch_seconds
            result["epoch_ratio_to_reference"] = round(
                median_epoch / args.reference_epoch_seconds, 3
            )
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
