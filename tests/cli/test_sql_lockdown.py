"""``shopmind sql`` is read-only for real: every escape attempt of issue 10 is refused with a
clear one-line message through the real CLI, no file is written, nothing is downloaded, and
ordinary queries still work. The commands run in parallel subprocesses to stay fast."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.store.test_query import seeded_workspace


@dataclass(frozen=True)
class Attempt:
    name: str
    sql: str
    words: str  # the refusal names what was refused


# The escapes the probe found, and the tricks around them ({out}: must stay empty).
ATTEMPTS = [
    Attempt("copy", "COPY (SELECT * FROM users) TO 'leak.csv'", "COPY"),
    Attempt("export_database", "EXPORT DATABASE 'exported'", "EXPORT DATABASE"),
    Attempt("read_csv", "SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    Attempt("read_text", "SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    Attempt("glob", "SELECT * FROM glob('/home/*')", "glob()"),
    Attempt("install", "INSTALL httpfs", "INSTALL"),
    Attempt("attach", "ATTACH '{out}/other.duckdb' AS other", "ATTACH"),
    Attempt("pragma", "PRAGMA version", "PRAGMA"),
    Attempt("set", "SET enable_external_access = true", "SET"),
    Attempt("multi_statement", "SELECT 1; COPY users TO '{out}/leak.csv'", "2 statements"),
    Attempt("comment_hides_copy", "/* SELECT */ COPY users TO '{out}/leak.csv' -- ok", "COPY"),
    Attempt(
        "comment_hides_second",
        "SELECT * FROM events --\n; COPY users TO '{out}/leak.csv'",
        "2 statements",
    ),
    Attempt("mixed_case", "sElEcT * FrOm ReAd_CsV('/etc/passwd')", "read_csv()"),
    Attempt("lower_case_install", "install httpfs", "INSTALL"),
    Attempt(
        "cte_wraps_read_csv",
        "WITH p AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM p",
        "read_csv()",
    ),
]
#: Also run with --json (the error as one JSON object on stdout); all of them are in-process
#: in tests/store/test_query.py with many more tricks.
JSON_ATTEMPTS = {"copy", "read_csv", "multi_statement"}


@dataclass(frozen=True)
class Sandbox:
    ws: Path
    out: Path  # absolute targets of the attempts
    cwd: Path  # working directory of the commands (relative targets land here)
    home: Path  # $HOME: DuckDB would put downloaded extensions under ~/.duckdb


def _run(box: Sandbox, *args: str) -> CliResult:
    env = {
        **os.environ,
        "HOME": str(box.home),
        "SHOPMIND_PROFILE": "dev",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "shopmind", "--workspace", str(box.ws), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=box.cwd,
        timeout=120,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _run_all(box: Sandbox, commands: list[list[str]]) -> list[CliResult]:
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda args: _run(box, *args), commands))


#: What every audited command may add (issue 14): its entry in the audit trail (`sql` only
#: reads, so its entry goes to the journal, chained by the next write).
AUDIT_TRAIL = ("audit_log", "audit.head", "audit.journal")


def _digest(path: Path) -> str:
    """Every table's rows but the audit trail's (each `sql` run appends its entry there)."""
    import duckdb

    digest = hashlib.sha256()
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name"
        ).fetchall()
        for (table,) in tables:
            if table not in AUDIT_TRAIL:
                rows = con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall()
                digest.update(f"{table}:{rows!r}".encode())
    return digest.hexdigest()


def _listing(ws: Path) -> list[str]:
    return sorted(p.name for p in ws.iterdir() if p.name not in AUDIT_TRAIL)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    root = tmp_path_factory.mktemp("lockdown")
    box = Sandbox(root / "ws", root / "out", root / "cwd", root / "home")
    seeded_workspace(box.ws)
    for path in (box.out, box.cwd, box.home):
        path.mkdir()
    return box


@pytest.fixture(scope="module")
def attempts(box: Sandbox) -> dict[str, tuple[CliResult, CliResult | None]]:
    """Each attempt in text mode (and some with --json), all at once."""
    before = _digest(box.ws / "shopmind.duckdb")
    listing = _listing(box.ws)
    commands = [["sql", a.sql.format(out=box.out)] for a in ATTEMPTS]
    json_names = [a.name for a in ATTEMPTS if a.name in JSON_ATTEMPTS]
    commands += [
        ["sql", a.sql.format(out=box.out), "--json"] for a in ATTEMPTS if a.name in JSON_ATTEMPTS
    ]
    results = _run_all(box, commands)
    assert _digest(box.ws / "shopmind.duckdb") == before, "the workspace changed"
    assert _listing(box.ws) == listing, "a file appeared in the workspace"
    as_json = dict(zip(json_names, results[len(ATTEMPTS) :], strict=True))
    return {a.name: (results[i], as_json.get(a.name)) for i, a in enumerate(ATTEMPTS)}


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_escape_attempt_is_refused(
    attempt: Attempt, attempts: dict[str, tuple[CliResult, CliResult | None]], box: Sandbox
) -> None:
    text, as_json = attempts[attempt.name]
    assert text.returncode == 2, text.stdout + text.stderr
    assert text.stdout == ""
    lines = text.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Refused"), text.stderr
    assert attempt.words in lines[0]
    assert "Traceback" not in text.stderr
    if as_json is None:
        return
    assert "Traceback" not in as_json.stderr
    error = json.loads(as_json.stdout)["error"]
    assert as_json.returncode == 2 and error["exit_code"] == 2
    assert error["type"] == "QueryRefusedError" and attempt.words in error["message"]
    assert error["hint"]


def test_nothing_written_nothing_downloaded(
    attempts: dict[str, tuple[CliResult, CliResult | None]], box: Sandbox
) -> None:
    assert len(attempts) == len(ATTEMPTS)
    assert list(box.out.iterdir()) == []
    assert list(box.cwd.iterdir()) == []  # no relative COPY target either
    assert not (box.home / ".duckdb").exists()  # INSTALL fetched no extension


def test_ordinary_queries_still_work(box: Sandbox) -> None:
    joined, cte, table, limited, describe = _run_all(
        box,
        [
            [
                "sql",
                "SELECT u.country, count(*) AS n, round(sum(i.price), 2) AS spend "
                "FROM events e JOIN users u USING (user_id) JOIN items i USING (item_id) "
                "GROUP BY 1 ORDER BY 1",
                "--json",
            ],
            [
                "sql",
                "WITH firsts AS (SELECT user_id, min(ts) AS first_ts FROM events GROUP BY 1) "
                "SELECT count(*) AS users, max(first_ts) AS last_first FROM firsts",
                "--json",
            ],
            ["sql", "SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 1"],
            ["sql", "SELECT event_id FROM events ORDER BY 1", "--limit", "2", "--json"],
            ["sql", "DESCRIBE events", "--json"],
        ],
    )
    for result in (joined, cte, table, limited, describe):
        assert result.returncode == 0, result.stderr
    assert joined.json() == [
        {"country": "CN", "n": 4, "spend": 17.5},
        {"country": "DE", "n": 1, "spend": 7.0},
    ]
    assert cte.json() == [{"users": 3, "last_first": "2024-01-03T12:00:00+00:00"}]
    assert "purchase" in table.stdout and "view" in table.stdout
    assert limited.json() == [{"event_id": "e1"}, {"event_id": "e2"}]
    assert "event_id" in {row["column_name"] for row in describe.json()}
