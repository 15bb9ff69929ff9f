"""The recommenders' interaction table on Spark, from Parquet exports of the canonical tables.

The same rows ``load_sequences`` reads from DuckDB: events with an item and a key
(``coalesce(user_id, session_id)``) of the interaction types, non-product items left out,
immediate repeats of an item collapsed for users. Keys and items are numbered ``0..n-1`` in
sorted order (the same indices the DuckDB path gives), so models trained on Spark share the
vocabulary of the driver-side ``Sequences``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shopmind.errors import ShopmindError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class SparkInteractions:
    """Interactions on Spark with dense indices.

    ``events``: ``kdx`` INT, ``idx`` INT, ``t`` BIGINT (epoch seconds), ``bought`` BOOLEAN,
    ``ts``, ``event_id`` (the order inside a key); ``keys``: ``kdx``, ``key``; ``items``:
    ``idx``, ``item_id``; ``kind``: ``users`` or ``sessions``.
    """

    events: DataFrame
    keys: DataFrame
    items: DataFrame
    kind: str
    n_keys: int
    n_items: int

    def unpersist(self) -> None:
        """Free the cached tables (they are cached on creation: every model reads them)."""
        for frame in (self.events, self.keys, self.items):
            frame.unpersist()

    def pairs(self) -> DataFrame:
        """Distinct (kdx, idx): the binary keys x items matrix of ItemKNN and ALS."""
        return self.events.select("kdx", "idx").distinct()


def _dense_index(values: DataFrame, column: str, name: str) -> DataFrame:
    """Distinct ``column`` values numbered 0..n-1 in sorted (binary string) order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # one sorted window over the distinct values: a single partition, fine for the item
    # vocabulary and for keys up to ~10^8 (a range-partitioned numbering would scale further)
    order = Window.orderBy(column)
    return (
        values.select(column)
        .distinct()
        .withColumn(name, (F.row_number().over(order) - 1).cast("int"))
    )


def spark_interactions(
    session: SparkSession,
    parquet_files: Mapping[str, Path],
    *,
    event_types: Collection[str],
    excluded_items: Collection[str] = (),
    collapse_repeats: bool | None = None,
) -> SparkInteractions:
    """Build the interaction table from the ``events`` and ``items`` Parquet exports.

    ``excluded_items``: non-product item ids (``features.eligibility.excluded_items``);
    ``collapse_repeats``: merge immediate repeats of an item (default: for users only).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    events_raw = session.read.parquet(str(parquet_files["events"]))
    items_raw = session.read.parquet(str(parquet_files["items"]))
    excluded = session.createDataFrame([(str(i),) for i in excluded_items], "item_id STRING")
    base = (
        events_raw.withColumn("key", F.coalesce("user_id", "session_id"))
        .where(F.col("item_id").isNotNull() & F.col("key").isNotNull())
        .where(F.col("event_type").isin(list(event_types)))
        .join(F.broadcast(excluded), "item_id", "left_anti")
    )
    has_user = base.where(F.col("user_id").isNotNull()).limit(1).count() > 0
    kind = "users" if has_user else "sessions"
    collapse = (kind == "users") if collapse_repeats is None else collapse_repeats
    by_key = Window.partitionBy("key").orderBy("ts", "event_id")
    ordered = base.withColumn("previous", F.lag("item_id").over(by_key))
    kept = ordered.where(~F.col("previous").eqNullSafe(F.col("item_id"))) if collapse else ordered
    catalogue = items_raw.select("item_id").join(F.broadcast(excluded), "item_id", "left_anti")
    items = _dense_index(base.select("item_id").unionByName(catalogue), "item_id", "idx")
    keys = _dense_index(kept, "key", "kdx").cache()
    items = items.cache()
    # epoch seconds rounded like DuckDB's epoch(ts)::BIGINT
    seconds = F.floor(F.unix_micros(F.col("ts").cast("timestamp")) / 1e6 + 0.5).cast("long")
    events = (
        kept.join(keys, "key")
        .join(F.broadcast(items), "item_id")
        .select(
            "kdx",
            "idx",
            seconds.alias("t"),
            (F.col("event_type") == "purchase").alias("bought"),
            "ts",
            "event_id",
        )
        .cache()
    )
    n_keys, n_items = keys.count(), items.count()
    if n_keys == 0:
        raise ShopmindError(
            "The workspace has no item interactions to learn from.",
            hint="Ingest events with item ids first: `shopmind ingest FILE --format ...`.",
        )
    return SparkInteractions(events, keys, items, kind, n_keys, n_items)


def item_texts(session: SparkSession, items_parquet: Path) -> DataFrame:
    """``item_id``, ``text``: what the content model reads (title, description, ...)."""
    from pyspark.sql import functions as F

    items = session.read.parquet(str(items_parquet))
    text = F.concat_ws(". ", "title", "title_zh", "description", "category", "brand")
    return items.where(F.coalesce("title", "title_zh", "description").isNotNull()).select(
        "item_id", text.alias("text")
    )
