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


JSON = ("--json",)
ROWS = 300_000  # big enough that a load's transaction takes far longer than a signal


def _kill_during_load(ws: Workspace, big: Path, delay: float) -> tuple[bool, bool]:
    """Start a load, SIGKILL it ``delay`` s after it logs ``stage: load``.

    Returns (killed before the commit marker, the commit marker was logged). A kill lands in
    the transaction only when the process was running and had not logged ``stage:
    committed``; a kill after the marker finds a complete, durable load.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopmind", "--workspace", str(ws.root), "ingest", str(big), *JSON],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SHOPMIND_LOG_STAGES": "1"},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == "stage: load":
            break
    if delay:
        time.sleep(delay)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    committed = any(line.strip() == "stage: committed" for line in proc.stderr)
    return running and not committed, committed


def test_sigkill_during_load_leaves_workspace_unchanged(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _write_events_csv(small, 1000, offset=10_000_000)
    _write_events_csv(big, ROWS)
    assert run_cli("--workspace", str(ws.root), "ingest", str(small), "--json").returncode == 0
    before = query(ws, SNAPSHOT)[0]
    quarantined = len(range(0, ROWS, 997))
    complete = (
        before[0] + ROWS - quarantined,
        before[3] + quarantined,
        before[4] + 1,
    )

    inside = 0
    committed = False
    # the first kill follows the "load" marker at once: it lands inside the transaction on
    # any machine; the second probes further in, and may land after the commit
    for delay in (0.0, 0.25):
        in_transaction, committed = _kill_during_load(ws, big, delay)
        state = query(ws, SNAPSHOT)[0]
        loaded = (state[0], state[3], state[4])
        assert state == before or loaded == complete  # all or nothing, never a part
        if in_transaction and loaded != complete:
            inside += 1
            assert state == before  # nothing of the killed load is visible
        if committed or loaded == complete:
            committed = True  # the kill came after the commit: the load is whole
            break
    assert inside >= 1, "no kill landed inside the load's transaction"

    result = run_cli("--workspace", str(ws.root), "ingest", str(big), "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["rows_in"] == ROWS
    assert report["rows_in"] == (
        report["rows_loaded"] + report["rows_quarantined"] + report["duplicates_skipped"]
    )
    if not committed:  # this rerun did the whole load
        assert report["rows_quarantined"] == quarantined
        assert report["rows_loaded"] == ROWS - quarantined
    after = query(ws, SNAPSHOT)[0]
    assert (after[0], after[3], after[4]) == complete  # the rerun completes, exactly once
