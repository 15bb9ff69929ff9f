"""The analytics CLI contract (outside checks parse these JSON shapes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.store import Workspace
from tests.conftest import run_cli


def test_funnel_and_rfm_json_contract(sim_ws: Workspace) -> None:
    ws = str(sim_ws.root)
    funnel = run_cli(
        "--workspace",
        ws,
        "analyze",
        "funnel",
        "--steps",
        "view,cart,purchase",
        "--window",
        "1d",
        "--json",
    )
    assert funnel.returncode == 0, funnel.stderr
    steps = funnel.json()["steps"]
    assert [s["name"] for s in steps] == ["view", "cart", "purchase"]
    assert steps[0]["users"] >= steps[1]["users"] >= steps[2]["users"] > 0
    rfm = run_cli("--workspace", ws, "analyze", "rfm", "--json").json()
    assert rfm["segments"] and all({"name", "customers"} <= set(s) for s in rfm["segments"])
    assert "note" not in rfm  # 60 days of data: segment names can be read as they are
    by = run_cli(
        "--workspace",
        ws,
        "analyze",
        "funnel",
        "--steps",
        "view,purchase",
        "--by",
        "category",
        "--json",
    ).json()
    assert len(by["breakdown"]) >= 5


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "retention", "--period", "week", "--json"],
        ["analyze", "paths", "--from", "view", "--max-steps", "3", "--json"],
        ["analyze", "trends", "--metric", "revenue", "--interval", "week", "--json"],
        ["analyze", "sessions", "--json"],
    ],
)
def test_other_analyses_answer_json(sim_ws: Workspace, args: list[str]) -> None:
    result = run_cli("--workspace", str(sim_ws.root), *args)
    assert result.returncode == 0, result.stderr
    assert result.json()


def test_clear_errors(sim_ws: Workspace, tmp_path: Path) -> None:
    unknown = run_cli(
        "--workspace", str(sim_ws.root), "analyze", "funnel", "--steps", "view,teleport", "--json"
    )
    assert unknown.returncode == 2 and "Event types present" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    empty = tmp_path / "empty"
    Workspace(empty).init()
    result = run_cli("--workspace", str(empty), "analyze", "rfm", "--json")
    assert result.returncode == 2 and "shopmind ingest" in result.stderr


def test_profile_command(sim_ws: Workspace, tmp_path: Path) -> None:
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(sim_ws.root, ws)
    assert run_cli("--workspace", str(ws), "analyze", "profiles", "--json").returncode == 0
    profile = run_cli("--workspace", str(ws), "profile", "u0000001", "--json")
    assert profile.returncode == 0, profile.stderr
    assert profile.json()["user_id"] == "u0000001"
    missing = run_cli("--workspace", str(ws), "profile", "nobody", "--json")
    assert missing.returncode == 2 and "No profile" in missing.stderr


def test_rfm_out_exports_one_segment_with_the_summary_counts(
    sim_ws: Workspace, tmp_path: Path
) -> None:
    import pandas as pd

    ws = str(sim_ws.root)
    summary = run_cli("--workspace", ws, "analyze", "rfm", "--json").json()
    sizes = {s["name"]: s["customers"] for s in summary["segments"]}
    name = max(sizes, key=lambda n: sizes[n])
    out = tmp_path / "members.csv"
    result = run_cli(
        "--workspace", ws, "analyze", "rfm", "--out", str(out), "--segment", name, "--json"
    )
    assert result.returncode == 0, result.stderr
    assert result.json()["exported"]["rows"] == sizes[name]
    members = pd.read_csv(out)
    assert len(members) == sizes[name] and set(members["segment"]) == {name}
    assert members["user_id"].is_unique
    everyone = tmp_path / "all.csv"
    run_cli("--workspace", ws, "analyze", "rfm", "--out", str(everyone))
    assert len(pd.read_csv(everyone)) == summary["customers"]
    bad = run_cli("--workspace", ws, "analyze", "rfm", "--out", str(out), "--segment", "Nope")
    assert bad.returncode == 2 and "Unknown RFM segment" in bad.stderr


def test_wide_retention_fits_80_columns_and_says_what_is_left_out(sim_ws: Workspace) -> None:
    args = ("--workspace", str(sim_ws.root), "analyze", "retention", "--period", "day")
    narrow = run_cli(*args, "--periods", "30", env={"COLUMNS": "80"})
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    table = lines[:-1]  # the last line is the note, which may wrap on its own
    assert max(len(line) for line in table) <= 80
    assert all(len(line.split()) <= 2 + 30 for line in table)  # one line per cohort
    assert "do not fit this terminal's width" in lines[-1] and "..30" in lines[-1]
    wide = run_cli(*args, "--periods", "5", env={"COLUMNS": "80"})
    assert "do not fit" not in wide.stdout and " 5" in wide.stdout.splitlines()[2]


def _loaded(tmp_path: Path, rows: list[str]) -> str:
    """A workspace with ``rows`` (a CSV's lines) loaded through ``shopmind ingest``."""
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = str(tmp_path / "ws")
    assert run_cli("--workspace", ws, "ingest", str(path)).returncode == 0
    return ws


def test_session_only_logs_are_counted_per_session(tmp_path: Path) -> None:
    """A clicks log without user ids (YOOCHOOSE, Diginetica): funnels and sessions count
    session ids and say so, instead of reporting 0 users."""
    rows = ["session_id,item_id,event_type,ts"]
    for s in range(6):
        rows.append(f"s{s},i{s},view,2024-05-01T10:0{s}:00Z")
        if s % 2 == 0:
            rows.append(f"s{s},i{s},purchase,2024-05-01T10:0{s}:30Z")
    ws = _loaded(tmp_path, rows)
    funnel = run_cli("--workspace", ws, "analyze", "funnel", "--steps", "view,purchase", "--json")
    assert funnel.returncode == 0, funnel.stderr
    assert funnel.json()["counted_per"] == "session"
    assert [s["users"] for s in funnel.json()["steps"]] == [6, 3]
    sessions = run_cli("--workspace", ws, "analyze", "sessions", "--json").json()
    assert (sessions["sessions"], sessions["counted_per"]) == (6, "session")
    text = run_cli("--workspace", ws, "analyze", "funnel", "--steps", "view,purchase")
    assert "per session id" in text.stdout and "sessions" in text.stdout


def test_rfm_without_prices_scores_recency_and_orders(tmp_path: Path) -> None:
    """A click log with purchases but no prices (Taobao, RetailRocket): spend is unknown, not
    0.00, and FM is F, so frequent recent buyers are Champions (a constant M had halved every
    FM and left Champions and Loyal empty)."""
    rows = ["user_id,item_id,event_type,ts"]
    for u in range(40):
        for k in range(1 + u % 8):  # 1..8 purchases, the last ones recent for most
            rows.append(f"u{u},i{k},purchase,2024-05-{1 + (u * 3 + k) % 27:02d}T10:00:00Z")
    ws = _loaded(tmp_path, rows)
    result = run_cli("--workspace", ws, "analyze", "rfm", "--json").json()
    assert result["has_prices"] is False
    assert all(s["mean_monetary"] is None for s in result["segments"])
    names = {s["name"] for s in result["segments"]}
    assert "Champions" in names
    text = run_cli("--workspace", ws, "analyze", "rfm", env={"COLUMNS": "120"}).stdout
    assert "no purchase has a price" in text and "0.00" not in text


def test_per_session_without_session_ids_splits_by_inactivity(tmp_path: Path) -> None:
    """Events with user ids but no session ids: --per session counts each user's visits
    (a new one after 30 minutes without events), not zero, and says how."""
    rows = ["user_id,item_id,event_type,ts"]
    for u in range(4):
        rows += [
            f"u{u},i{u},view,2024-05-01T10:00:00Z",
            f"u{u},i{u},purchase,2024-05-01T10:10:00Z",
            f"u{u},i9,view,2024-05-01T15:00:00Z",  # a second visit
        ]
    ws = _loaded(tmp_path, rows)
    funnel = run_cli(
        "--workspace",
        ws,
        "analyze",
        "funnel",
        "--steps",
        "view,purchase",
        "--per",
        "session",
        "--json",
    ).json()
    assert [s["users"] for s in funnel["steps"]] == [8, 4]
    assert "30 minutes" in funnel["note"] and "no user id" not in funnel["note"]
    summary = run_cli("--workspace", ws, "analyze", "summary", "--per", "session", "--json")
    assert summary.json()["active_users"] == 8
