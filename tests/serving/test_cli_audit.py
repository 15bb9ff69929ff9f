"""Commands that read personal data or change data are audited by one hook
(``shopmind.cli.audited``): the real CLI, then ``audit show`` / ``audit verify``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from shopmind.cli.audited import AUDITED, Audited, describe
from shopmind.store import Workspace, audit
from tests.conftest import CliResult, ingest_lines, run_cli
from tests.risk.conftest import fraud_like
from tests.serving.helpers import ENV


def _cli(ws: Path, *args: str) -> CliResult:
    return run_cli("--workspace", str(ws), *args, env=ENV)


def _entries(ws: Path) -> list[dict[str, str]]:
    shown = run_cli("--workspace", str(ws), "audit", "show", "--json", env=ENV)
    assert shown.returncode == 0, shown.stderr
    return list(reversed(shown.json()["entries"]))  # oldest first


def test_commands_are_audited_with_outcome_and_no_personal_target(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ingest_lines(ws, tmp_path / "seq.txt", ["cust-77 a1 a2 a3", "cust-78 a2 a3"], "sequences")
    query = "select count(*) as n from events where user_id = 'cust-77'"
    ok = _cli(ws, "sql", query, "--json")
    assert ok.returncode == 0 and ok.json() == [{"n": 3}]
    bad = _cli(ws, "sql", "select * from no_such_table")
    assert bad.returncode == 2
    failed = _cli(ws, "profile", "cust-77")  # no profiles yet: fails, still audited
    assert failed.returncode == 2
    assert _cli(ws, "info").returncode == 0
    assert _cli(ws, "sql", "--help").returncode == 0

    rows = [(e["action"], e["target"], e["outcome"]) for e in _entries(ws)]
    assert rows[:4] == [
        ("ingest", "path=seq.txt format=sequences table=events", "ok"),
        ("sql", f"query=tables:events:<{len(query)} chars>", "ok"),
        ("sql", "query=tables:-:<27 chars>", "error QueryError"),
        ("profile", rows[3][1], "error ShopmindError"),
    ]
    assert rows[3][1].startswith("user_id=u_")  # pseudonymised with the workspace key
    assert not any("cust-77" in (target or "") for _, target, _ in rows)
    assert not any(action in ("info", "audit show") for action, _, _ in rows[:4])
    verified = _cli(ws, "audit", "verify", "--json")
    assert verified.returncode == 0 and verified.json()["ok"]


def test_a_failed_command_creates_no_workspace(tmp_path: Path) -> None:
    result = _cli(tmp_path / "none", "sql", "select 1")
    assert result.returncode == 2
    assert not (tmp_path / "none").exists()


def test_an_unwritable_audit_trail_is_one_warning_not_a_failure(tmp_path: Path) -> None:
    """Another process holds the workspace (as ``shopmind serve`` does): a command that does
    not need the database still succeeds, and says its entry was not written."""
    ws = tmp_path / "ws"
    ingest_lines(ws, tmp_path / "seq.txt", ["u1 a1 a2"], "sequences")
    data = tmp_path / "train.csv"
    fraud_like(n=600).to_csv(data, index=False)
    holder = duckdb.connect(str(ws / "shopmind.duckdb"))
    try:
        trained = _cli(ws, "risk", "train", "--data", str(data), "--label", "class", "--json")
    finally:
        holder.close()
    assert trained.returncode == 0, trained.stderr
    warnings = [
        line
        for line in trained.stderr.splitlines()
        if line.startswith("warning: audit entry not written")
    ]
    assert len(warnings) == 1 and "Traceback" not in trained.stderr
    assert "roc_auc" in trained.stdout or trained.json()


def test_targets_hold_no_personal_values() -> None:
    spec = Audited(("user", "text", "data", "items"))
    target = describe(
        spec,
        {"user": "alice", "text": "my card 4111", "data": Path("/home/x/f.csv"), "items": ["a"]},
        lambda u: "u_" + str(len(u)),
    )
    assert target == "user=u_5 text=<12 chars> data=f.csv items=<1 values>"
    assert {"ingest", "sql", "risk review confirm", "keys create"} <= set(AUDITED)


def test_journaled_entries_are_chained_once(tmp_path: Path) -> None:
    """Read-only commands journal their entry (no write lock); the next write chains the
    journal in time order, and an interrupted fold (chained, journal not emptied) does not
    chain an entry twice."""
    ws = Workspace(tmp_path / "ws").init()
    audit.journal(ws, "sql", "query=tables:events:<9 chars>", "ok")
    audit.journal(ws, "profile", None, "error ShopmindError")
    assert audit.pending(ws) == 2
    saved = audit.journal_path(ws).read_text()
    audit.record(ws, "ingest", "path=f.csv", "ok")
    assert audit.pending(ws) == 0
    audit.journal_path(ws).write_text(saved)  # as if the fold stopped before emptying it
    audit.record(ws, "simulate", None, "ok")
    with ws.connect(read_only=True) as con:
        actions = [
            r[0] for r in con.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()
        ]
        report = audit.verify(con, audit.head_path(ws))
    assert actions == ["sql", "profile", "ingest", "simulate"]
    assert report.ok and report.entries == 4
