"""Recommenders trained on Spark (``local[2]``) against the DuckDB path on a simulated shop.

Thresholds (measured, see docs/scale-out.md): the interaction table is identical; popularity
and trending give identical lists; item-kNN (BM25 and cosine) identical top-10 lists for
>= 95% of users (ties at the neighbour cut-off may differ); ALS, whose solver and seed
differ from implicit's, agrees with the DuckDB ALS about as well as the DuckDB ALS agrees with
itself under another seed (top-10 overlap within 0.1 of that), with held-out NDCG@10 / HR@10
within noise (the shared evaluation harness).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopmind.errors import RecommendError
from shopmind.evaluation.ranking import evaluate_scores
from shopmind.evaluation.splits import loo_split
from shopmind.features.eligibility import set_eligibility
from shopmind.features.sequences import Sequences, load_sequences
from shopmind.features.tables import export_parquet
from shopmind.models.recommend import spark as spark_module
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.registry import model_class
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, run_cli

pytestmark = pytest.mark.slow
ALS_CONFIG = {"factors": 32, "iterations": 8}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("spark-shop") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=800, days=45, seed=7)), key=TEST_KEY)
    with ws.connect() as con:  # a non-product line must stay out on both engines
        item = con.execute("SELECT min(item_id) FROM events").fetchone()
        assert item is not None
        set_eligibility(con, [str(item[0])], False, "postage")
    return ws


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark")
    settings = spark_module.SparkSettings(
        shuffle_partitions=2, warehouse_dir=tmp_path_factory.mktemp("warehouse")
    )
    with spark_module.SparkEngine(settings) as running:
        yield running


@pytest.fixture(scope="module")
def both(shop: Workspace, engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(Spark table, Sequences collected from Spark, Sequences from DuckDB)."""
    from shopmind.features.eligibility import excluded_items

    files = export_parquet(shop, tmp_path_factory.mktemp("export"))
    with shop.connect(read_only=True) as con:
        duck = load_sequences(con)
        excluded = tuple(excluded_items(con))
    table, collected = spark_module.read_interactions(engine.session, files, excluded)
    return table, collected, duck


def _tops(model: Recommender, data: Sequences) -> list[list[str]]:
    return [[i for i, _ in rec] for rec in model.recommend([str(k) for k in data.keys], 10)]


def _overlap(a: list[list[str]], b: list[list[str]]) -> float:
    return float(
        np.mean([len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(a, b, strict=True)])
    )


def _identical(a: list[list[str]], b: list[list[str]]) -> float:
    return float(np.mean([x == y for x, y in zip(a, b, strict=True)]))


def test_interaction_table_is_the_duckdb_one(shop: Workspace, both: Any) -> None:
    from shopmind.features.eligibility import excluded_items

    _, spark, duck = both
    assert spark.kind == duck.kind == "users"
    assert list(spark.keys) == list(duck.keys)
    assert list(spark.item_ids) == list(duck.item_ids)
    with shop.connect(read_only=True) as con:
        assert not set(excluded_items(con)) & set(spark.item_ids)
    np.testing.assert_array_equal(spark.indptr, duck.indptr)
    np.testing.assert_array_equal(spark.times, duck.times)
    same = [set(spark.seq(i).tolist()) == set(duck.seq(i).tolist()) for i in range(duck.n_keys)]
    assert all(same)
    assert spark.purchased.keys() == duck.purchased.keys()
    assert all(np.array_equal(spark.purchased[k], duck.purchased[k]) for k in duck.purchased)
    assert spark.texts == duck.texts
    assert duck.n_interactions > 10_000


@pytest.mark.parametrize("name", ["popularity", "trending"])
def test_popularity_and_trending_are_identical(both: Any, name: str) -> None:
    table, spark, duck = both
    on_spark = spark_module.fit_on_spark(name, table, spark)
    on_duckdb = model_class(name)().fit(duck)
    assert type(on_spark) is type(on_duckdb)
    np.testing.assert_allclose(on_spark.scores_, on_duckdb.scores_, rtol=1e-5)
    assert _tops(on_spark, duck) == _tops(on_duckdb, duck)


@pytest.mark.parametrize("similarity", ["bm25", "cosine"])
def test_itemknn_neighbours_match(both: Any, similarity: str) -> None:
    table, spark, duck = both
    config = {"similarity": similarity, "neighbours": 50}
    on_spark = spark_module.fit_on_spark("itemknn", table, spark, config)
    on_duckdb = model_class("itemknn")(**config).fit(duck)
    assert on_spark.similarity_.nnz == on_duckdb.similarity_.nnz
    assert _identical(_tops(on_spark, duck), _tops(on_duckdb, duck)) >= 0.95


def test_als_agrees_within_seed_noise_on_a_held_out_split(both: Any, engine: Any) -> None:
    _, _, duck = both
    split = loo_split(duck)
    data = split.fit_data
    table = spark_module.from_sequences(engine.session, data)
    on_spark = spark_module.fit_on_spark("als", table, data, ALS_CONFIG)
    seeds = [model_class("als")(seed=s, **ALS_CONFIG).fit(data) for s in (0, 1)]
    assert type(on_spark) is type(seeds[0])
    tops = [_tops(m, data) for m in (on_spark, *seeds)]
    noise = _overlap(tops[1], tops[2])
    assert _overlap(tops[0], tops[1]) >= noise - 0.1
    results = [
        evaluate_scores(m.score, split.test, data.n_items, [10])["metrics"]
        for m in (on_spark, *seeds)
    ]
    cases = len(split.test)
    hr = results[1]["hr@10"]
    band = 2.5 * np.sqrt(hr * (1 - hr) / cases)  # binomial standard errors of HR@10
    assert abs(results[0]["hr@10"] - hr) <= band
    assert abs(results[0]["ndcg@10"] - results[1]["ndcg@10"]) <= band


def test_train_saves_a_model_the_cli_serves(shop: Workspace, engine: Any, tmp_path: Path) -> None:
    summary = spark_module.train_spark(shop, "popularity", engine=engine)
    assert summary["engine"] == "spark" and summary["model"] == "popularity"
    loaded = Recommender.load(Path(summary["path"]))
    assert type(loaded) is model_class("popularity")
    out = tmp_path / "recs.csv"
    result = run_cli(
        "--workspace", str(shop.root), "recommend", "batch", "--model", "popularity",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.json()["rows"] > 1000


def test_other_models_are_refused_on_spark(shop: Workspace) -> None:
    with pytest.raises(RecommendError, match="--engine spark trains als, itemknn"):
        spark_module.train_spark(shop, "sasrec")
    # configs Spark cannot train are refused before Spark starts
    with pytest.raises(RecommendError, match="Invalid config for als"):
        spark_module.train_spark(shop, "als", overrides={"factorz": 8})
    with pytest.raises(RecommendError, match="alpha >= 1"):
        spark_module.train_spark(shop, "als", overrides={"alpha": 0.5})
    with pytest.raises(RecommendError, match="recency decay is not built on Spark"):
        spark_module.train_spark(shop, "itemknn", overrides={"recency": 0.5})
    result = run_cli(
        "--workspace", str(shop.root), "recommend", "train", "--engine", "spark",
        "--model", "markov",
    )  # fmt: skip
    assert result.returncode != 0
    assert "--engine spark trains" in result.stderr + result.stdout
