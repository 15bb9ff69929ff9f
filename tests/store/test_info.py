"""What ``shopmind info`` reports, the console's ingestion log and the serve default read one
library: table counts and date ranges, the ingestion log, the schema version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shopmind.store import SCHEMA_VERSION, Workspace
from shopmind.store.info import events_pseudonymized, ingestion_log, workspace_info
from tests.analytics.small_retail import small_retail


def test_workspace_info_counts_and_ranges(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    info = workspace_info(ws)
    tables = {t["table"]: t for t in info["tables"]}
    assert tables["events"]["rows"] == 6 and tables["orders"]["rows"] == 5  # by hand
    assert tables["events"]["from"] == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert tables["events"]["to"] == datetime(2024, 1, 16, 9, tzinfo=UTC)
    assert "from" not in tables["items"]  # no date column
    assert info["schema_version"] == info["shopmind_schema_version"] == SCHEMA_VERSION
    assert info["stale_models"] == []
    (load,) = info["ingestions"]
    assert (load["format"], load["target"], load["rows_in"], load["rows_loaded"]) == (
        "online_retail",
        "events",
        6,
        6,
    )
    assert load["pseudonymized"] is False


def test_ingestion_log_order_and_limit(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    with ws.connect() as con:  # a second, later load
        con.execute(
            "INSERT INTO ingestions SELECT * REPLACE ('ing_later' AS ingestion_id, "
            "finished_at + INTERVAL 1 HOUR AS finished_at, true AS pseudonymized) FROM ingestions"
        )
    with ws.connect(read_only=True) as con:
        oldest_first = [r["ingestion_id"] for r in ingestion_log(con)]
        newest = ingestion_log(con, newest_first=True, limit=1)
        assert events_pseudonymized(con) is True  # the latest event load decides
    assert oldest_first[-1] == "ing_later" and len(oldest_first) == 2
    assert [r["ingestion_id"] for r in newest] == ["ing_later"]


def test_events_pseudonymized_defaults(tmp_path: Path, workspace: Workspace) -> None:
    with workspace.connect(read_only=True) as con:
        assert events_pseudonymized(con) is True  # a new workspace pseudonymises
    with small_retail(tmp_path).connect(read_only=True) as con:
        assert events_pseudonymized(con) is False  # loaded with pseudonymize=False
