"""Every failure is one line naming the fix (exit 2, no traceback), and with ``--json`` also
one JSON object on stdout: ``{"error": {"type", "message", "hint", "exit_code"}}``.

Each case is a hostile input of the probe in issue 10, run through the real CLI."""

from __future__ import annotations

import ctypes
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.store.test_query import seeded_workspace

EVENTS = (
    "event_id,user_id,item_id,event_type,ts\n"
    "e1,u1,i1,view,2024-01-01T00:00:00Z\n"
    "e2,u2,i2,view,2024-01-02T00:00:00Z\n"
)


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> CliResult:
    """The real ``shopmind`` in a subprocess (like tests.conftest.run_cli, plus preexec)."""
    proc = subprocess.run(
        [sys.executable, "-m", "shopmind", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SHOPMIND_PROFILE": "dev", **(env or {})},
        timeout=120,
        check=False,
        preexec_fn=preexec,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def one_line_error(result: CliResult, *words: str, code: int = 2) -> str:
    """Assert the shape of a user error; return its line."""
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "unexpected" not in errors[0]
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def json_error(result: CliResult, type_: str, *words: str) -> dict[str, object]:
    assert "Traceback" not in result.stderr + result.stdout
    error = json.loads(result.stdout)["error"]
    assert set(error) == {"type", "message", "hint", "exit_code"}
    assert error["type"] == type_ and error["exit_code"] == result.returncode == 2
    for word in words:
        assert word in f"{error['message']} {error['hint']}"
    return error


def _without_dac_override() -> None:
    """Root ignores file permissions; drop that power (CAP_DAC_OVERRIDE/READ_SEARCH) so a
    read-only file or directory is read-only for the command too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def as_unprivileged() -> Callable[[], None] | None:
    if os.geteuid() != 0:
        return None
    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=_without_dac_override, check=False
    )
    if probe.returncode != 0:  # pragma: no cover - containers without CAP_SETPCAP
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE here")
    return _without_dac_override


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS)
    return path


def test_empty_sql(tmp_path: Path) -> None:
    seeded_workspace(tmp_path / "ws")
    result = cli("--workspace", str(tmp_path / "ws"), "sql", "")
    one_line_error(result, "No SQL given", "SELECT count(*) FROM events")


def test_invalid_pii_policy_names_the_variable(tmp_path: Path) -> None:
    env = {"SHOPMIND_PII_POLICY": "shred"}
    text = cli("--workspace", str(tmp_path / "ws"), "info", env=env)
    one_line_error(text, "SHOPMIND_PII_POLICY", "shred")
    as_json = cli("--workspace", str(tmp_path / "ws"), "info", "--json", env=env)
    json_error(as_json, "ConfigError", "SHOPMIND_PII_POLICY", "hash")


def test_workspace_path_is_a_file(events_csv: Path) -> None:
    loading = cli("--workspace", str(events_csv), "ingest", str(events_csv))
    one_line_error(loading, "is a file, not a directory", "--workspace")
    reading = cli("--workspace", str(events_csv), "info", "--json")
    json_error(reading, "WorkspaceError", "is a file, not a directory")
    assert events_csv.read_text() == EVENTS


def test_workspace_under_a_read_only_directory(tmp_path: Path, events_csv: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = cli(
            "--workspace",
            str(locked / "ws"),
            "ingest",
            str(events_csv),
            preexec=as_unprivileged(),
        )
    finally:
        locked.chmod(0o755)
    one_line_error(result, "Cannot create workspace", "Permission denied", "writable")
    assert not (locked / "ws").exists()


def test_read_only_database_is_not_blamed_on_another_process(
    tmp_path: Path, events_csv: Path
) -> None:
    ws = seeded_workspace(tmp_path / "ws")
    ws.db_path.chmod(0o444)
    try:
        result = cli(
            "--workspace", str(ws.root), "ingest", str(events_csv), preexec=as_unprivileged()
        )
        reading = cli(
            "--workspace",
            str(ws.root),
            "sql",
            "SELECT count(*) AS n FROM events",
            "--json",
            preexec=as_unprivileged(),
        )
    finally:
        ws.db_path.chmod(0o644)
    line = one_line_error(result, "the file is read-only", "chmod")
    assert "another process" not in line and "locked" not in line
    assert reading.returncode == 0 and reading.json() == [{"n": 5}]  # reading still works

    ws.root.chmod(0o555)  # the file is writable, the directory (where the .wal goes) is not
    try:
        result = cli(
            "--workspace", str(ws.root), "ingest", str(events_csv), preexec=as_unprivileged()
        )
    finally:
        ws.root.chmod(0o755)
    line = one_line_error(result, "its directory is read-only", "chmod")
    assert "another process" not in line and "unexpected" not in line


def test_database_locked_by_another_process(tmp_path: Path, events_csv: Path) -> None:
    ws = seeded_workspace(tmp_path / "ws")
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
        writing = cli("--workspace", str(ws.root), "ingest", str(events_csv))
        reading = cli("--workspace", str(ws.root), "sql", "SELECT 1", "--json")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits at end of input
        holder.wait(timeout=60)
    one_line_error(writing, f"locked by process {holder.pid}", "kill", "retry")
    json_error(reading, "WorkspaceError", f"process {holder.pid}", "Wait")


_LOW_MEMORY = """
import duckdb
_connect = duckdb.connect
def connect(database=":memory:", read_only=False, config=None, **kw):
    config = {**(config or {}), "memory_limit": "4MB"}
    return _connect(database, read_only=read_only, config=config, **kw)
duckdb.connect = connect
"""


def test_out_of_memory(tmp_path: Path) -> None:
    """DuckDB's memory limit is forced down with a sitecustomize module (fault injection);
    the command and DuckDB are the real ones."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(_LOW_MEMORY)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(inject), os.getenv("PYTHONPATH")]))}
    ws = seeded_workspace(tmp_path / "ws")
    query = cli(
        "--workspace", str(ws.root), "sql", "SELECT list(range) FROM range(10000000)", env=env
    )
    one_line_error(query, "out of memory")
    big = tmp_path / "big.csv"
    big.write_text(
        "event_id,user_id,item_id,event_type,ts\n"
        + "".join(f"e{i},u{i % 997},i{i % 301},view,2024-01-01T00:00:00Z\n" for i in range(200_000))
    )
    loading = cli("--workspace", str(tmp_path / "ws2"), "ingest", str(big), "--json", env=env)
    error = json_error(loading, "OutOfMemoryError", "smaller input")
    assert "big.csv" in str(error["message"])


def test_directory_given_as_file(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    result = cli("--workspace", str(tmp_path / "ws"), "ingest", str(folder))
    line = one_line_error(result, "is a directory")
    assert "not found" not in line


def test_gzip_file_says_it_is_compressed(tmp_path: Path) -> None:
    path = tmp_path / "events.csv.gz"
    path.write_bytes(gzip.compress(EVENTS.encode()))
    result = cli("--workspace", str(tmp_path / "ws"), "ingest", str(path))
    line = one_line_error(result, "gzip-compressed", "gunzip -c")
    assert "missing" not in line


def test_naive_parquet_timestamp_suggests_timezone(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "naive.parquet"
    pq.write_table(
        pa.table(
            {
                "event_id": ["e1"],
                "user_id": ["u1"],
                "item_id": ["i1"],
                "event_type": ["view"],
                "ts": pa.array([1_704_067_200_000_000], pa.timestamp("us")),
            }
        ),
        path,
    )
    result = cli("--workspace", str(tmp_path / "ws"), "ingest", str(path))
    line = one_line_error(result, "no time zone", "--timezone")
    assert "is not a timestamp" not in line


def test_usage_errors_with_json(tmp_path: Path) -> None:
    result = cli("--workspace", str(tmp_path / "ws"), "sql", "--json")
    json_error(result, "UsageError", "query", "shopmind sql --help")


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "retention", "--periods", "-1"],
        ["recommend", "evaluate", "--sampled", "-5"],
        ["abtest", "analyze", "--campaign", "c1", "--alpha", "2"],
        ["uplift", "evaluate", "--data", "x.csv", "--treatment-col", "t", "--outcome", "y",
         "--k", "-1"],
    ],
)  # fmt: skip
def test_numbers_out_of_range_are_refused_before_any_work(tmp_path: Path, args: list[str]) -> None:
    result = cli("--workspace", str(tmp_path / "ws"), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Invalid value for '{args[-2]}'" in result.stderr


def test_bad_model_config_names_the_setting_not_an_environment_variable(tmp_path: Path) -> None:
    seeded_workspace(tmp_path / "ws")
    ws = ("--workspace", str(tmp_path / "ws"))
    line = one_line_error(
        cli(*ws, "recommend", "train", "--model", "markov", "--config", '{"nosuch": 3}'),
        "nosuch",
        "--config",
    )
    assert "SHOPMIND_" not in line
    one_line_error(
        cli(*ws, "recommend", "train", "--model", "markov", "--config", "{bad"),
        "--config is not JSON",
    )
