"""Stopping the service while another cursor still holds a write transaction: the stop is
clean (no exception), committed data stays."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopmind.serving.service import ServeOptions, Service
from shopmind.store import Workspace


class _Busy:
    """The service's connection while another thread's write transaction is still open (what
    DuckDB answers then: the probe's "Application shutdown failed")."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.checkpoints = 0

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "CHECKPOINT":
            self.checkpoints += 1
            raise duckdb.TransactionException(
                "TransactionContext Error: Cannot CHECKPOINT: there are other write "
                "transactions active. Try using FORCE CHECKPOINT"
            )
        return self.con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def test_close_with_a_write_transaction_left_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ws = Workspace(tmp_path / "ws").init()
    service = Service(ws, ServeOptions())
    service.start()
    service.con.execute("CREATE TABLE kept (x INTEGER); INSERT INTO kept VALUES (1)")
    busy = _Busy(service.con)
    service.con = busy  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="shopmind.serving"):
        service.close(checkpoint_wait=0.2)  # no exception: a clean stop
    assert busy.checkpoints >= 2  # retried while the other transaction might end
    assert "checkpoint left to the next start" in caplog.text
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT x FROM kept").fetchall() == [(1,)]
