"""The CLI contract: --help everywhere, JSON outputs, the environment settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

COMMANDS = ["ingest", "simulate", "info", "sql", "formats"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_dash_h_is_help_on_nested_commands_too() -> None:
    # typer gives the root's context settings to every command: -h reads as --help there
    long = run_cli("analyze", "funnel", "--help", env={"COLUMNS": "100"})
    short = run_cli("analyze", "funnel", "-h", env={"COLUMNS": "100"})
    assert short.returncode == 0 and "--steps" in short.stdout
    assert short.stdout == long.stdout


def test_command_lists_run_each_summary_on_as_one_paragraph() -> None:
    # the summary wraps at the terminal's width, not at the docstring's line breaks
    result = run_cli("--help", env={"COLUMNS": "240"})
    line = next(x for x in result.stdout.splitlines() if " simulate " in x)
    assert "fraud rings and service tickets" in line, line
    body = run_cli("ingest", "--help", env={"COLUMNS": "240"}).stdout
    assert "duplicates_skipped, always; re-loading the same file adds nothing." in body


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("cli") / "ws"
    result = run_cli(
        "--workspace",
        str(ws),
        "simulate",
        "--users",
        "300",
        "--days",
        "20",
        "--seed",
        "5",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert result.json()["ingest"]["events"]["rows_loaded"] > 1000
    return ws


def test_info_json(simulated: Path) -> None:
    info = run_cli("--workspace", str(simulated), "info", "--json").json()
    tables = {t["table"]: t for t in info["tables"]}
    assert tables["events"]["rows"] > 1000 and tables["events"]["from"] < tables["events"]["to"]
    assert tables["tickets"]["rows"] > 0 and tables["labels"]["rows"] > 0
    assert {i["target"] for i in info["ingestions"]} == {"events", "users", "items", "orders"}


def test_sql_json_is_a_list_of_row_objects(simulated: Path) -> None:
    rows = run_cli(
        "--workspace",
        str(simulated),
        "sql",
        "SELECT event_type, count(*) AS n, min(ts) AS first FROM events GROUP BY 1 ORDER BY 1",
        "--json",
    ).json()
    assert isinstance(rows, list) and {"event_type", "n", "first"} == set(rows[0])
    assert any(r["event_type"] == "purchase" for r in rows)


def test_sql_is_read_only(simulated: Path) -> None:
    result = run_cli("--workspace", str(simulated), "sql", "DELETE FROM events")
    assert result.returncode != 0 and "read-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_workspace_from_environment(simulated: Path) -> None:
    result = run_cli("info", "--json", env={"SHOPMIND_WORKSPACE": str(simulated)})
    assert result.returncode == 0 and json.loads(result.stdout)["workspace"] == str(simulated)


def test_ingest_refuses_dev_key_outside_dev(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,item_id,event_type,ts\nu,i,view,2024-01-01T00:00:00Z\n")
    env = {"SHOPMIND_PROFILE": "prod"}
    refused = run_cli("--workspace", str(tmp_path / "ws"), "ingest", str(path), "--json", env=env)
    assert refused.returncode != 0 and "SHOPMIND_PSEUDONYMIZE_KEY" in refused.stderr
    public = run_cli(
        "--workspace",
        str(tmp_path / "ws"),
        "ingest",
        str(path),
        "--pseudonymize",
        "off",
        "--json",
        env=env,
    )
    assert public.returncode == 0, public.stderr
    assert public.json()["rows_loaded"] == 1
    keyed = run_cli(
        "--workspace",
        str(tmp_path / "ws2"),
        "ingest",
        str(path),
        "--json",
        env={**env, "SHOPMIND_PSEUDONYMIZE_KEY": "x" * 32},
    )
    assert keyed.returncode == 0 and keyed.json()["pseudonymized"] is True


def test_info_on_empty_directory_says_what_to_ingest(tmp_path: Path) -> None:
    result = run_cli("--workspace", str(tmp_path / "none"), "info")
    assert result.returncode == 2 and "shopmind ingest" in result.stderr


def test_formats_lists_every_named_format() -> None:
    names = {f["format"] for f in run_cli("formats", "--json").json()}
    assert {
        "online_retail",
        "taobao_userbehavior",
        "cdnow",
        "sequences",
        "sessions",
        "movielens",
        "fraud_data",
        "generic",
    } <= names
