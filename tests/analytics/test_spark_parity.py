"""The same Ibis expressions on PySpark ``local[2]`` give DuckDB's results on a real file
(funnel, retention, RFM, sessions)."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import pandas as pd
import pytest

from shopmind.analytics.funnel import FunnelQuery, funnel_levels
from shopmind.analytics.retention import retention_counts
from shopmind.analytics.rfm import rfm_table
from shopmind.analytics.sessions import session_stats
from shopmind.features.sessions import sessions_per_user
from shopmind.features.tables import duckdb_tables, export_parquet, spark_tables
from shopmind.store import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pyspark = pytest.importorskip("pyspark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = (
        pyspark.sql.SparkSession.builder.master("local[2]")
        .appName("shopmind-parity")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    yield session
    session.stop()


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_funnel_retention_rfm_equal_on_spark_and_duckdb(
    retail_ws: Workspace,
    spark,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    files = export_parquet(retail_ws, tmp_path / "export")
    on_spark = spark_tables(spark, files)
    query = FunnelQuery(("purchase", "refund"), 30 * 86_400)
    with duckdb_tables(retail_ws) as on_duckdb:
        results = {}
        for name, tables in (("duckdb", on_duckdb), ("spark", on_spark)):
            results[name] = {
                "funnel": _sorted(
                    funnel_levels(tables, query).execute()[["user_id", "level", "t1", "t2"]],
                    ["user_id"],
                ),
                "retention": _sorted(
                    retention_counts(tables, "purchase", "purchase", "month", periods=6).execute(),
                    ["cohort", "offset"],
                ),
                "rfm": _sorted(rfm_table(tables).execute(), ["user_id"]),
                "sessions": _sorted(
                    session_stats(tables.events(), 30, source_ids=False)
                    .select("user_id", "session_key", "events", "duration_seconds")
                    .execute(),
                    ["user_id", "session_key"],
                ),
                "session_counts": _sorted(
                    sessions_per_user(
                        tables.events().filter(ibis._.user_id.notnull()), 60
                    ).execute(),
                    ["user_id"],
                ),
            }
    duck, spk = results["duckdb"], results["spark"]
    assert len(duck["funnel"]) > 1000
    pd.testing.assert_frame_equal(duck["funnel"], spk["funnel"], check_dtype=False)
    duck["retention"]["cohort"] = pd.to_datetime(duck["retention"]["cohort"])
    spk["retention"]["cohort"] = pd.to_datetime(spk["retention"]["cohort"])
    pd.testing.assert_frame_equal(duck["retention"], spk["retention"], check_dtype=False)
    pd.testing.assert_frame_equal(duck["rfm"], spk["rfm"], check_dtype=False, rtol=1e-6)
    assert len(duck["sessions"]) > 1000
    for name in ("sessions", "session_counts"):
        pd.testing.assert_frame_equal(duck[name], spk[name], check_dtype=False)
