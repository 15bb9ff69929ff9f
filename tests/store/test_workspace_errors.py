"""Opening a workspace fails with a WorkspaceError that says what is wrong and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from shopmind.errors import WorkspaceError
from shopmind.store import Workspace
from shopmind.store.workspace import open_error


def test_root_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("keep me")
    with pytest.raises(WorkspaceError, match="is a file, not a directory"):
        Workspace(path).init()
    with (
        pytest.raises(WorkspaceError, match="is a file, not a directory"),
        Workspace(path).connect(read_only=True),
    ):
        pass
    with pytest.raises(WorkspaceError, match=f"{path} is a file"):
        Workspace(path / "ws").init()
    assert path.read_text() == "keep me"


def test_lock_names_the_holder(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").init()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " sys.stdin.read()",
            str(ws.db_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for kwargs in ({}, {"read_only": True}, {"sandboxed": True}):
            with pytest.raises(WorkspaceError) as locked, ws.connect(**kwargs):
                pass
            assert f"locked by process {holder.pid}" in str(locked.value)
            assert f"kill {holder.pid}" in locked.value.hint
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    with ws.connect(sandboxed=True) as con:  # free again
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_permission_errors_are_not_blamed_on_a_lock(tmp_path: Path) -> None:
    db = tmp_path / "shopmind.duckdb"
    denied = duckdb.IOException(f'IO Error: Cannot open file "{db}": Permission denied')
    writing = open_error(db, denied, read_only=False)
    assert "read-only" in str(writing) and "process" not in str(writing)
    reading = open_error(db, denied, read_only=True)
    assert "Cannot read" in str(reading) and "chmod u+r" in reading.hint
    other = open_error(db, duckdb.IOException("IO Error: not a DuckDB file"), read_only=True)
    assert "Cannot open" in str(other) and "not a DuckDB file" in str(other)
