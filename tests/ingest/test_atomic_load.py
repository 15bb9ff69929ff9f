"""A load is atomic: killed with SIGKILL in the middle of writing, the workspace is exactly as
before; the rerun completes with exact reconciliation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from shopmind.store import Workspace
from tests.conftest import query, run_cli

pytestmark = pytest.mark.slow

SNAPSHOT = """
SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM users), (SELECT count(*) FROM items),
       (SELECT count(*) FROM quarantine), (SELECT count(*) FROM ingestions),
       (SELECT coalesce(sum(hash(event_id, user_id, item_id, ts)), 0) FROM events)
"""


def _write_events_csv(path: Path, rows: int, offset: int = 0) -> None:
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (SELECT 'e' || (i + {offset}) AS event_id, 'user' || (i % 50000) AS user_id,
                     'item' || (i % 7919) AS item_id,
                     CASE WHEN i % 10 = 0 THEN 'cart' ELSE 'view' END AS event_type,
                     strftime(TIMESTAMP '2024-01-01' + to_seconds(i % 86400000),
                              '%Y-%m-%dT%H:%M:%SZ') AS ts,
                     CASE WHEN i % 997 = 0 THEN 'bad' ELSE '1' END AS quantity
              FROM range({rows}) t(i))
        TO '{path}' (HEADER, DELIMITER ',')
        """
    )


def test_sigkill_during_load_leaves_workspace_unchanged(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _write_events_csv(small, 1000, offset=10_000_000)
    _write_events_csv(big, 1_500_000)
    assert run_cli("--workspace", str(ws.root), "ingest", str(small), "--json").returncode == 0
    before = query(ws, SNAPSHOT)

    killed_in_load = False
    for delay in (0.05, 0.3, 0.8):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shopmind",
                "--workspace",
                str(ws.root),
                "ingest",
                str(big),
                "--json",
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "SHOPMIND_LOG_STAGES": "1"},
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.strip() == "stage: load":
                break
        time.sleep(delay)
        still_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if still_running:
            killed_in_load = True
            assert query(ws, SNAPSHOT) == before  # nothing of the killed load is visible
    assert killed_in_load, "the load finished before any kill; make the file bigger"

    result = run_cli("--workspace", str(ws.root), "ingest", str(big), "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["rows_in"] == 1_500_000
    assert report["rows_in"] == (
        report["rows_loaded"] + report["rows_quarantined"] + report["duplicates_skipped"]
    )
    assert report["rows_quarantined"] == len(range(0, 1_500_000, 997))
    after = query(ws, SNAPSHOT)[0]
    assert after[0] == before[0][0] + report["rows_loaded"]
    assert after[4] == before[0][4] + 1
