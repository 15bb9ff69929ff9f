"""The audit trail's hash chain, key management on the command line, token buckets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from shopmind.security import TokenBuckets
from shopmind.store import Workspace
from shopmind.store.audit import head_path, record, show, verify
from tests.conftest import run_cli


def test_keys_cli_and_audit_verify_catches_an_edited_entry(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    created = run_cli("--workspace", str(ws), "keys", "create", "--role", "analyst", "--json")
    assert created.returncode == 0, created.stderr
    issued = created.json()
    assert issued["role"] == "analyst" and issued["key"].startswith("smk_")
    revoked = run_cli("--workspace", str(ws), "keys", "revoke", issued["key_id"], "--json")
    assert revoked.json()["status"] == "revoked"
    listed = run_cli("--workspace", str(ws), "keys", "list", "--json").json()["keys"]
    assert [k["status"] for k in listed] == ["revoked"] and "key" not in listed[0]
    assert issued["key"].encode() not in (ws / "shopmind.duckdb").read_bytes()
    bad_role = run_cli("--workspace", str(ws), "keys", "create", "--role", "emperor")
    assert bad_role.returncode == 2 and "Use one of" in bad_role.stderr

    shown = run_cli("--workspace", str(ws), "audit", "show", "--action", "keys", "--json")
    assert [(e["action"], e["outcome"]) for e in shown.json()["entries"]] == [
        ("keys create", "error AccessError"),  # the refused role, recorded by the CLI hook
        ("keys list", "ok"),
        ("keys revoke", "ok"),
        ("keys create", "ok"),
    ]
    ok = run_cli("--workspace", str(ws), "audit", "verify", "--json")
    assert ok.returncode == 0 and ok.json() == {
        "ok": True,
        "entries": 5,  # the four key commands and `audit show`
        "head_seq": 5,
        "problems": [],
    }
    con = duckdb.connect(str(ws / "shopmind.duckdb"))
    con.execute("UPDATE audit_log SET target = 'role=admin' WHERE seq = 1")
    con.close()
    edited = run_cli("--workspace", str(ws), "audit", "verify", "--json")
    assert edited.returncode == 1
    assert edited.json()["problems"] == [
        {"seq": 1, "problem": "entry changed after it was written"}
    ]


def test_verify_catches_deleted_and_cut_off_entries(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").init()
    for i in range(5):
        record(ws, "test", f"t{i}")
    with ws.connect() as con:
        assert verify(con, head_path(ws)).ok
        assert [r["target"] for r in show(con, action="test", limit=2)] == ["t4", "t3"]
        assert show(con, since=datetime(2999, 1, 1, tzinfo=UTC)) == []
        con.execute("DELETE FROM audit_log WHERE seq = 3")
        problems = verify(con, head_path(ws)).problems
        assert {"seq": 4, "problem": "expected entry 3: entries missing"} in problems
        assert {"seq": 4, "problem": "link to the previous entry broken"} in problems
        con.execute("DELETE FROM audit_log WHERE seq >= 3")
        assert verify(con, head_path(ws)).problems == [
            {"seq": 5, "problem": "entries 3..5 deleted"}
        ]


def test_a_cut_off_tail_stays_visible_after_the_next_entry(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").init()
    for i in range(5):
        record(ws, "test", f"t{i}")
    with ws.connect() as con:
        con.execute("DELETE FROM audit_log WHERE seq >= 4")  # cut off the two newest
    record(ws, "test", "after")  # the next command writes on
    with ws.connect(read_only=True) as con:
        report = verify(con, head_path(ws))
        rows = con.execute("SELECT seq, target FROM audit_log ORDER BY seq").fetchall()
    assert rows[-1] == (6, "after")  # numbered after the head, not after the shortened table
    assert not report.ok and report.head_seq == 6
    assert {"seq": 6, "problem": "expected entry 4: entries missing"} in report.problems
    assert {"seq": 6, "problem": "link to the previous entry broken"} in report.problems


def test_an_unreadable_head_is_reported_and_writers_go_on(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").init()
    record(ws, "test", "t0")
    head_path(ws).write_text("not json")
    record(ws, "test", "t1")  # continues from the table
    head_path(ws).write_text("{")
    with ws.connect(read_only=True) as con:
        report = verify(con, head_path(ws))
    assert report.entries == 2 and report.head_seq is None
    assert report.problems == [{"seq": 0, "problem": "audit.head cannot be read"}]


def test_token_buckets() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == 0.5  # one token comes back in 0.5 s
    assert buckets.take("b") == 0  # keys do not share buckets
    now[0] = 0.5
    assert buckets.take("a") == 0
    assert buckets.take("c", rate=0.5) == 0 and buckets.take("c", rate=0.5) == 2.0
    assert TokenBuckets.retry_after(0.01) == 1
    assert TokenBuckets(rate=0).take("a") == 0  # off
