"""A command's change and its audit entry commit together or not at all."""

from __future__ import annotations

import duckdb
import pytest

from shopmind.store import Workspace, migrate
from shopmind.store.audit import AuditEntry, audited_call, head_path, verify


def _entry(action: str) -> AuditEntry:
    return AuditEntry("cli:test", "local", action, None, "ok")


def _failing(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO t VALUES (2)")
    raise RuntimeError("boom")


def test_work_and_entry_commit_together(workspace: Workspace) -> None:
    with workspace.connect() as con:
        migrate(con)
        con.execute("CREATE TABLE t (x INTEGER)")
        first = audited_call(
            con, workspace, _entry("first"), lambda c: c.execute("INSERT INTO t VALUES (1)") and 7
        )
        assert first == 7  # what the work returned
        with pytest.raises(RuntimeError, match="boom"):
            audited_call(con, workspace, _entry("second"), _failing)
        audited_call(con, workspace, _entry("third"), lambda c: None)
        assert con.execute("SELECT list(x) FROM t").fetchone() == ([1],)  # the insert of 2 undone
        actions = con.execute("SELECT list(action ORDER BY seq) FROM audit_log").fetchone()
        assert actions == (["first", "third"],)  # the failed call left no entry
        report = verify(con, head_path(workspace))
    assert report.ok and report.entries == 2  # the chain and its head stay consistent
