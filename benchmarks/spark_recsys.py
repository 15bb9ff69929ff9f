"""Recommenders trained on Spark vs the DuckDB path: same tables, same harness, same metrics.

    OPENBLAS_NUM_THREADS=1 python benchmarks/spark_recsys.py [--dataset movielens_100k]

MovieLens-100k is ingested into a temporary workspace (format ``movielens``); the
interaction table is read both ways (DuckDB ``load_sequences``; Spark ``local[2]`` over
``export_parquet``) and compared. Protocol: leave-one-out (last item test), full ranking,
the user's history excluded, NDCG@10 / HR@10 from ``shopmind.evaluation.ranking``. Each
model is fit on the training part by both engines with the same config (Spark gets the
training part with ``from_sequences``); for ALS a second DuckDB seed gives the noise level.
``from tables`` times the whole Spark path on all the data (Parquet -> model).
Results: benchmarks/results/spark_recsys.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPMIND_SHARED_DATA", ROOT.parent / "shared" / "data"))
FILES = {"movielens_100k": ("movielens_100k/ml-100k.inter", "movielens")}
MODELS: list[tuple[str, dict[str, Any]]] = [
    ("popularity", {}),
    ("trending", {}),
    ("itemknn", {"similarity": "bm25"}),
    ("itemknn", {"similarity": "cosine"}),
    ("als", {}),
]


def _tops(model: Any, keys: list[str]) -> list[list[str]]:
    return [[i for i, _ in rec] for rec in model.recommend(keys, 10)]


def _agreement(a: list[list[str]], b: list[list[str]]) -> dict[str, float]:
    pairs = list(zip(a, b, strict=True))
    return {
        "top10_overlap": round(float(np.mean([len(set(x) & set(y)) / 10 for x, y in pairs])), 4),
        "top10_identical": round(float(np.mean([x == y for x, y in pairs])), 4),
    }


def _metrics(model: Any, split: Any) -> dict[str, float]:
    from shopmind.evaluation.ranking import evaluate_scores

    found = evaluate_scores(model.score, split.test, split.fit_data.n_items, [10])["metrics"]
    return {name: round(found[name], 4) for name in ("ndcg@10", "hr@10")}


def run(dataset: str, settings: Any) -> dict[str, Any]:
    from shopmind.evaluation.splits import loo_split
    from shopmind.features.eligibility import excluded_items
    from shopmind.features.sequences import load_sequences
    from shopmind.features.tables import export_parquet
    from shopmind.ingest import IngestOptions, ingest_file
    from shopmind.models.recommend import spark
    from shopmind.models.recommend.registry import model_class
    from shopmind.store import Workspace

    relative, fmt = FILES[dataset]
    out: dict[str, Any] = {"dataset": dataset, "protocol": "loo, full ranking, seen excluded"}
    with tempfile.TemporaryDirectory() as tmp, spark.SparkEngine(settings) as engine:
        ws = Workspace(Path(tmp) / "ws")
        ingest_file(ws, DATA / relative, IngestOptions(format=fmt, pseudonymize=False))
        started = time.perf_counter()
        with ws.connect(read_only=True) as con:
            duck = load_sequences(con)
            excluded = tuple(excluded_items(con))
        duck_read = time.perf_counter() - started
        started = time.perf_counter()
        session = engine.session
        out["spark_start_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        files = export_parquet(ws, Path(tmp) / "parquet")
        table, data = spark.read_interactions(session, files, excluded)
        out["read_s"] = {
            "duckdb": round(duck_read, 2),
            "spark": round(time.perf_counter() - started, 2),
        }
        out["table_identical"] = bool(
            list(data.keys) == list(duck.keys)
            and list(data.item_ids) == list(duck.item_ids)
            and np.array_equal(data.indptr, duck.indptr)
            and all(
                np.array_equal(np.sort(data.seq(i)), np.sort(duck.seq(i)))
                for i in range(duck.n_keys)
            )
        )
        out["interactions"] = duck.n_interactions
        out["users"], out["items"] = duck.n_keys, duck.n_items
        split = loo_split(duck)
        fit = split.fit_data
        keys = [str(k) for k in fit.keys]
        fit_table = spark.from_sequences(session, fit)
        rows = []
        for name, config in MODELS:
            row: dict[str, Any] = {"model": name, "config": config}
            started = time.perf_counter()
            on_duck = model_class(name)(**config).fit(fit)
            row["fit_s_duckdb"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            on_spark = spark.fit_on_spark(name, fit_table, fit, config)
            row["fit_s_spark"] = round(time.perf_counter() - started, 2)
            row["duckdb"], row["spark"] = _metrics(on_duck, split), _metrics(on_spark, split)
            row["agreement"] = _agreement(_tops(on_spark, keys), _tops(on_duck, keys))
            if name == "als":  # the noise level: the DuckDB ALS against itself, another seed
                other = model_class(name)(**{**config, "seed": 1}).fit(fit)
                row["duckdb_seed1"] = _metrics(other, split)
                row["agreement_duckdb_seed0_vs_seed1"] = _agreement(
                    _tops(other, keys), _tops(on_duck, keys)
                )
            started = time.perf_counter()
            spark.fit_on_spark(name, table, data, config)
            row["from_tables_fit_s_spark"] = round(time.perf_counter() - started, 2)
            print(json.dumps(row), flush=True)
            rows.append(row)
        out["models"] = rows
    return out


def main() -> None:
    from shopmind.models.recommend.spark import SparkSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="movielens_100k", choices=sorted(FILES))
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    settings = SparkSettings(master=args.master, shuffle_partitions=4)
    result = run(args.dataset, settings)
    result["environment"] = {
        "spark_master": args.master,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(v, 1) for v in os.getloadavg()],
    }
    path = ROOT / "benchmarks" / "results" / "spark_recsys.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
