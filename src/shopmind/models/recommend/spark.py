"""Train the recommenders that matter at scale on Spark: ALS, item-kNN, popularity, trending.

The learning runs on Spark (``pyspark.ml.recommendation.ALS``, Spark SQL co-occurrence and
counts) over the interaction table of :mod:`shopmind.features.spark_interactions`; the
result is the same :class:`Recommender` the DuckDB path produces (``ALS``, ``ItemKNN``,
``Popularity``, ``Trending``), so saving, ``recommend batch``, serving and evaluation do not
change. The driver keeps the compact CSR histories every recommender serves from.

What matches the DuckDB path (``implicit``):

- popularity / trending: the same counts and decayed counts;
- item-kNN: the same cosine or BM25 item-item similarity (Sarwar et al. 2001; implicit's
  ``bm25_weight``), each item keeping its ``neighbours`` best items counted with itself;
- ALS (Hu, Koren & Volinsky 2008): implicit weighs a positive with confidence ``alpha``,
  Spark with ``1 + alpha'``, so Spark gets ``alpha' = alpha - 1``; Spark scales the
  regularisation by each user's / item's number of interactions (ALS-WR, Zhou et al. 2008),
  so it gets ``regularization / mean distinct items per key``. Spark solves each least-squares
  step exactly where implicit takes 3 conjugate-gradient steps: the factors differ, the
  rankings and metrics agree within the noise of a different seed
  (see ``tests/models/recommend/test_spark_parity.py`` and ``docs/scale-out.md``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import ValidationError

from shopmind.errors import RecommendError
from shopmind.features.sequences import INTERACTION_TYPES, Sequences
from shopmind.features.spark_interactions import SparkInteractions, item_texts, spark_interactions
from shopmind.features.spark_session import SparkEngine, SparkSettings
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.factorization import ALS
from shopmind.models.recommend.itemknn import ItemKNN
from shopmind.models.recommend.popularity import Popularity, Trending
from shopmind.models.recommend.registry import model_class
from shopmind.store import Workspace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SPARK_MODELS",
    "SparkEngine",
    "SparkSettings",
    "check_spark_model",
    "collect_sequences",
    "fit_on_spark",
    "from_sequences",
    "read_interactions",
    "train_spark",
]

#: Models with a Spark trainer (``recommend train --engine spark --model NAME``).
SPARK_MODELS = ("als", "itemknn", "popularity", "trending")

R = TypeVar("R", bound=Recommender)


# -- the interaction table <-> driver-side Sequences --------------------------------------
def read_interactions(
    session: SparkSession,
    parquet_files: Mapping[str, Path],
    excluded_items: tuple[str, ...] = (),
) -> tuple[SparkInteractions, Sequences]:
    """The Spark interaction table and the same rows as ``Sequences`` on the driver."""
    table = spark_interactions(
        session, parquet_files, event_types=INTERACTION_TYPES, excluded_items=excluded_items
    )
    return table, collect_sequences(table, item_texts(session, parquet_files["items"]))


def collect_sequences(table: SparkInteractions, texts: DataFrame | None = None) -> Sequences:
    """Histories in time order (CSR), purchases and item texts, as ``load_sequences`` gives."""
    from pyspark.sql import functions as F

    rows = table.events.orderBy("kdx", "t", "ts", "event_id").select("kdx", "idx", "t", "bought")
    frame = _arrow(rows)
    kdx = frame["kdx"].to_numpy().astype(np.int64)
    idx = frame["idx"].to_numpy().astype(np.int32)
    keys = _lookup(_arrow(table.keys), "kdx", "key", table.n_keys)
    item_ids = _lookup(_arrow(table.items), "idx", "item_id", table.n_items)
    indptr = np.zeros(table.n_keys + 1, dtype=np.int64)
    np.add.at(indptr, kdx + 1, 1)
    data = Sequences(
        keys=keys,
        item_ids=item_ids,
        indptr=np.cumsum(indptr),
        items=idx,
        times=frame["t"].to_numpy().astype(np.int64),
        kind=table.kind,
    )
    bought = frame["bought"].to_numpy(zero_copy_only=False).astype(bool)
    if bought.any():
        pairs = np.unique(np.stack([kdx[bought], idx[bought]], axis=1), axis=0)
        cuts = np.flatnonzero(np.diff(pairs[:, 0])) + 1
        for group in np.split(pairs, cuts):
            data.purchased[int(group[0, 0])] = group[:, 1].astype(np.int32)
    if texts is not None:
        found = _arrow(texts.join(F.broadcast(table.items), "item_id").select("idx", "text"))
        data.texts = {
            int(i): str(t)
            for i, t in zip(found["idx"].to_pylist(), found["text"].to_pylist(), strict=True)
        }
    return data


def _arrow(frame: DataFrame) -> Any:
    """A Spark DataFrame as a pyarrow Table (``toArrow`` from pyspark 4, pandas before)."""
    import pyarrow as pa

    if hasattr(frame, "toArrow"):
        return frame.toArrow()
    return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)


def _lookup(frame: Any, index: str, value: str, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[frame[index].to_numpy()] = np.array(frame[value].to_pylist(), dtype=object)
    return out


def from_sequences(session: SparkSession, data: Sequences) -> SparkInteractions:
    """Put driver-side ``Sequences`` (e.g. a split's training part) on Spark (the learners
    read ``kdx``, ``idx`` and ``t`` only; ``bought`` is left False)."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    lengths = data.lengths()
    rows = pa.table(
        {
            "kdx": pa.array(np.repeat(np.arange(data.n_keys), lengths).astype(np.int32)),
            "idx": pa.array(data.items.astype(np.int32)),
            "t": pa.array(data.times.astype(np.int64)),
            "bought": pa.array(np.zeros(data.n_interactions, dtype=bool)),
            "event_id": pa.array(np.arange(data.n_interactions, dtype=np.int64)),
        }
    )
    events = session.createDataFrame(rows.to_pandas()).withColumn("ts", F.col("t"))
    keys = session.createDataFrame(
        [(i, str(k)) for i, k in enumerate(data.keys)], "kdx INT, key STRING"
    )
    items = session.createDataFrame(
        [(i, str(k)) for i, k in enumerate(data.item_ids)], "idx INT, item_id STRING"
    )
    return SparkInteractions(events, keys, items, data.kind, data.n_keys, data.n_items)


# -- learners: Spark does the learning, the model class keeps its own bookkeeping ----------
def _install(model: R, data: Sequences, learned: Mapping[str, Any]) -> R:
    """Run ``model.fit(data)`` with ``learned`` as the learned state instead of learning.

    The base class's bookkeeping (vocabulary, key index, popularity) stays in one place;
    only ``_fit`` is replaced, for this one call, on this one instance."""

    def adopt(_data: Sequences, _validation: Any) -> None:
        for name, value in learned.items():
            setattr(model, name, value)

    setattr(model, "_fit", adopt)  # noqa: B010 - an instance attribute shadows the method
    try:
        model.fit(data)
    finally:
        delattr(model, "_fit")
    return model


def _item_vector(frame: Any, value: str, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float64)
    out[frame["idx"].to_numpy()] = frame[value].to_numpy()
    return out


def fit_popularity(table: SparkInteractions, data: Sequences, model: Popularity) -> Popularity:
    """Interaction counts per item (Spark SQL), scaled so the top item is 1."""
    counts = _arrow(table.events.groupBy("idx").count())
    scores = _item_vector(counts, "count", table.n_items).astype(np.float32)
    return _install(model, data, {"scores_": scores / max(float(scores.max()), 1.0)})


def fit_trending(table: SparkInteractions, data: Sequences, model: Trending) -> Trending:
    """Interactions weighted by ``0.5 ** (age / half_life)``, age from the newest event."""
    from pyspark.sql import functions as F

    newest = table.events.agg(F.max("t")).first()
    assert newest is not None
    age_days = (F.lit(int(newest[0])) - F.col("t")) / 86_400.0
    weight = F.pow(F.lit(0.5), age_days / model.config.half_life_days)
    sums = _arrow(table.events.groupBy("idx").agg(F.sum(weight).alias("score")))
    scores = _item_vector(sums, "score", table.n_items)
    scores = (scores / max(float(scores.max()), 1e-12)).astype(np.float32)
    return _install(model, data, {"scores_": scores})


def fit_itemknn(table: SparkInteractions, data: Sequences, model: ItemKNN) -> ItemKNN:
    """Item-item cosine or BM25 similarity from co-occurrence (Spark SQL self-join on keys),
    the ``neighbours`` best per item (the item itself counted, then dropped)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from scipy import sparse

    c = model.config
    pairs = table.pairs()
    item_count = pairs.groupBy("idx").agg(F.count("*").alias("n_i"))
    if c.similarity == "cosine":
        weights = pairs.join(item_count, "idx").select(
            "kdx", "idx", (1.0 / F.sqrt("n_i")).alias("w")
        )
    else:  # implicit's bm25_weight on the items x keys matrix
        n_items = float(table.n_items)
        key_count = pairs.groupBy("kdx").agg(F.count("*").alias("d_u"))
        average = pairs.count() / n_items
        length_norm = (1.0 - c.bm25_b) + c.bm25_b * F.col("n_i") / average
        idf = F.log(F.lit(n_items)) - F.log1p("d_u")
        weight = (c.bm25_k1 + 1.0) / (c.bm25_k1 * length_norm + 1.0) * idf
        weights = (
            pairs.join(item_count, "idx")
            .join(key_count, "kdx")
            .select("kdx", "idx", weight.alias("w"))
        )
    left = weights.select("kdx", F.col("idx").alias("i"), F.col("w").alias("wi"))
    right = weights.select("kdx", F.col("idx").alias("j"), F.col("w").alias("wj"))
    similarity = (
        left.join(right, "kdx").groupBy("i", "j").agg(F.sum(F.col("wi") * F.col("wj")).alias("s"))
    )
    best = Window.partitionBy("i").orderBy(F.col("s").desc(), F.col("j"))
    top = _arrow(
        similarity.withColumn("rank", F.row_number().over(best))
        .where((F.col("rank") <= c.neighbours) & (F.col("i") != F.col("j")))
        .select("i", "j", "s")
    )
    matrix = sparse.csr_matrix(
        (top["s"].to_numpy().astype(np.float32), (top["i"].to_numpy(), top["j"].to_numpy())),
        shape=(table.n_items, table.n_items),
    )
    matrix.eliminate_zeros()
    return _install(model, data, {"similarity_": matrix})


def fit_als(table: SparkInteractions, data: Sequences, model: ALS) -> ALS:
    """Implicit-feedback ALS by ``pyspark.ml`` on the binary keys x items matrix."""
    from pyspark.ml.recommendation import ALS as SparkALS
    from pyspark.sql import functions as F

    c = model.config
    ratings = table.pairs().withColumn("rating", F.lit(1.0).cast("float"))
    per_key = data.user_item_matrix(binary=True).nnz / max(data.n_keys, 1)
    blocks = table.events.sparkSession.sparkContext.defaultParallelism
    learner = SparkALS(
        rank=c.factors,
        maxIter=c.iterations,
        regParam=c.regularization / max(float(per_key), 1.0),
        alpha=c.alpha - 1.0,
        implicitPrefs=True,
        userCol="kdx",
        itemCol="idx",
        ratingCol="rating",
        seed=c.seed,
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        coldStartStrategy="drop",
    )
    fitted = learner.fit(ratings)
    users = _factors(_arrow(fitted.userFactors), table.n_keys, c.factors)
    items = _factors(_arrow(fitted.itemFactors), table.n_items, c.factors)
    y = items.astype(np.float64)
    learned = {
        "history_lengths_": data.lengths().copy(),
        "user_factors_": users,
        "item_factors_": items,
        "gram_": y.T @ y + c.regularization * np.eye(c.factors),
    }
    return _install(model, data, learned)


def _factors(frame: Any, n: int, rank: int) -> np.ndarray:
    """Spark's (id, features) rows -> a dense (n, rank) array; rows never seen stay 0."""
    out = np.zeros((n, rank), dtype=np.float32)
    ids = frame["id"].to_numpy()
    if len(ids):
        out[ids] = np.array(frame["features"].to_pylist(), dtype=np.float32)
    return out


_TRAINERS: dict[str, Callable[[SparkInteractions, Sequences, Any], Recommender]] = {
    "als": fit_als,
    "itemknn": fit_itemknn,
    "popularity": fit_popularity,
    "trending": fit_trending,
}


def check_spark_model(name: str | None) -> str:
    """The model name if it trains on Spark, else an error listing those that do."""
    if name is None or name not in SPARK_MODELS:
        shown = "no --model" if name is None else f"'{name}'"
        raise RecommendError(
            f"--engine spark trains {', '.join(SPARK_MODELS)}; got {shown}.",
            hint="Pick one of them with --model, or use --engine duckdb (the default) for "
            "model selection and the other models.",
        )
    return name


def fit_on_spark(
    name: str,
    table: SparkInteractions,
    data: Sequences,
    overrides: Mapping[str, Any] | None = None,
) -> Recommender:
    """Train model ``name`` (one of :data:`SPARK_MODELS`) on ``table``; ``data`` is the same
    rows on the driver (``read_interactions`` / ``collect_sequences``)."""
    if (table.n_keys, table.n_items) != (data.n_keys, data.n_items):
        raise RecommendError(
            "The Spark table and the Sequences do not describe the same data.",
            hint="Build both with read_interactions() or from_sequences().",
        )
    return _TRAINERS[name](table, data, _build(name, overrides))


def _build(name: str, overrides: Mapping[str, Any] | None) -> Recommender:
    """The untrained model; a config Spark cannot train is refused before Spark starts."""
    check_spark_model(name)
    try:
        model = model_class(name)(**dict(overrides or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        fields = ", ".join(model_class(name).config_class.model_fields)
        raise RecommendError(
            f"Invalid config for {name}: {error['msg']} "
            f"({'.'.join(str(p) for p in error['loc'])}).",
            hint=f"Settings of {name}: {fields}.",
        ) from None
    if isinstance(model, ALS) and model.config.alpha < 1.0:
        raise RecommendError(
            f"ALS on Spark needs alpha >= 1 (got {model.config.alpha}): a positive's "
            "confidence is alpha, and Spark's is 1 + alpha' with alpha' >= 0.",
            hint="Pass e.g. --config '{\"alpha\": 2.0}', or train with --engine duckdb.",
        )
    if isinstance(model, ItemKNN) and model.config.recency is not None:
        raise RecommendError(
            "item-kNN's recency decay is not built on Spark yet (its similarities would "
            "ignore it).",
            hint="Leave recency out with --engine spark, or train with --engine duckdb.",
        )
    return model


def train_spark(
    workspace: Workspace,
    name: str | None,
    *,
    settings: SparkSettings | None = None,
    engine: SparkEngine | None = None,
    overrides: Mapping[str, Any] | None = None,
    parquet_files: Mapping[str, Path] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """``recommend train --engine spark``: fit on Spark and save where the DuckDB path saves.

    ``engine``: a running engine to use (left running); else one is started from
    ``settings`` and stopped at the end. ``parquet_files``: the tables as a cluster holds
    them (default: exported from the workspace). No validation-based tuning here: the
    config is the model's defaults plus ``overrides`` (tune on a sample with the DuckDB
    path, then pass the chosen config)."""

    from shopmind.features.eligibility import excluded_items
    from shopmind.features.tables import export_parquet
    from shopmind.models.recommend.workflow import model_path, set_default

    chosen = check_spark_model(name)
    _build(chosen, overrides)
    started = time.perf_counter()
    with workspace.connect(read_only=True) as con:
        excluded = tuple(sorted(excluded_items(con)))
    with tempfile.TemporaryDirectory(prefix="shopmind-export-") as scratch:
        files = parquet_files
        if files is None:
            log("exporting the canonical tables to Parquet")
            files = export_parquet(workspace, Path(scratch))
        running = engine or SparkEngine(settings)
        try:
            log(f"reading interactions on Spark ({running.settings.master})")
            table, data = read_interactions(running.session, files, excluded)
            log(f"fitting {chosen} on Spark: {data.n_interactions} interactions")
            model = fit_on_spark(chosen, table, data, overrides)
            table.unpersist()
        finally:
            if engine is None:
                running.stop()
    path = model.save(model_path(workspace, chosen))
    summary = {
        "model": chosen,
        "engine": "spark",
        "config": model.config.model_dump(),
        "path": str(path),
        "kind": data.kind,
        "keys": data.n_keys,
        "items": data.n_items,
        "interactions": data.n_interactions,
        "validation": {},
        "seconds": round(time.perf_counter() - started, 2),
    }
    set_default(workspace, summary, replace=False)
    return summary
