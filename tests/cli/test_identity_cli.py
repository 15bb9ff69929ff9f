"""``shopmind identity ...`` end to end through the real command line, plus the person-level
options of ``analyze`` and ``profile`` (docs/identity.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.store import Workspace
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    ws = tmp_path_factory.mktemp("identity") / "ws"
    sim = run_cli(
        "--workspace", str(ws), "simulate", "--users", "300", "--days", "14", "--seed", "4",
        "--identity", "0.2", "--json",
    )  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    assert sim.json()["truth"]["identity"]["persons"] == 60
    links = ws / "raw" / "simulated_seed4" / "identity_links.csv"
    result = run_cli("--workspace", str(ws), "identity", "link", "--links", str(links), "--json")
    assert result.returncode == 0, result.stderr
    return ws, result.json()


def cli(ws: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("--workspace", str(ws), *args)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.slow  # several CLI processes
def test_link_then_evaluate(linked: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    ws, report = linked
    assert report["persons"] > 40 and report["edges_used"]["login"] > 0
    assert report["login_links_added"] == report["edges_used"]["login"]
    result = run_cli("--workspace", str(ws), "identity", "evaluate", "--json")
    assert result.returncode == 0, result.stderr
    scores = result.json()
    assert scores["precision"] >= 0.95 and 0.7 <= scores["recall"] < 1.0
    assert scores["planted_persons"] == 60


@pytest.mark.slow  # several CLI processes
def test_show_merges_undo_and_relink(linked: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    ws, report = linked
    merges = run_cli("--workspace", str(ws), "identity", "merges", "--json").json()["merges"]
    newest = merges[0]
    member = newest["members_after"][0][0]
    shown = run_cli("--workspace", str(ws), "identity", "show", member, "--json").json()
    assert shown["person_id"] == newest["person_id"]
    assert {m["user_id"] for m in shown["members"]} == set(newest["members_after"][0])
    code, out, _ = cli(ws, "identity", "undo", newest["merge_id"])
    assert code == 0 and "undone" in out
    again = run_cli("--workspace", str(ws), "identity", "link", "--json").json()
    assert again["merges"] == [] and again["persons"] == report["persons"] - 1
    forced = run_cli("--workspace", str(ws), "identity", "link", "--force", "--json").json()
    assert len(forced["merges"]) == 1 and forced["persons"] == report["persons"]
    code, out, err = cli(ws, "identity", "undo", "m999999")
    assert code == 2 and "No merge 'm999999'" in err + out and "Traceback" not in err


@pytest.mark.slow  # several CLI processes
def test_analytics_and_profile_per_person(linked: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    ws, _ = linked
    per_user = run_cli("--workspace", str(ws), "analyze", "summary", "--json").json()
    per_person = run_cli(
        "--workspace", str(ws), "analyze", "summary", "--per", "person", "--json"
    ).json()
    assert per_person["active_users"] < per_user["active_users"]
    assert per_person["net_revenue"] == pytest.approx(per_user["net_revenue"])
    funnel = run_cli(
        "--workspace", str(ws), "analyze", "funnel", "--steps", "view,purchase", "--per",
        "person", "--json",
    )  # fmt: skip
    assert funnel.returncode == 0, funnel.stderr
    merges = run_cli("--workspace", str(ws), "identity", "merges", "--json").json()["merges"]
    member = next(m for m in merges if m["undone_at"] is None)["members_after"][0][0]
    profile = run_cli("--workspace", str(ws), "profile", member, "--per", "person", "--json")
    assert profile.returncode == 0, profile.stderr
    assert member in profile.json()["members"] and len(profile.json()["members"]) >= 2


def test_errors_are_one_line_with_a_fix(tmp_path: Path, workspace: Workspace) -> None:
    ws = tmp_path / "empty"
    code, out, err = cli(ws, "identity", "link", "--links", str(tmp_path / "missing.csv"))
    assert code == 2 and "not found" in err + out and "Traceback" not in err
    code, out, err = cli(ws, "identity", "link")
    assert code == 2 and "No workspace" in err + out and not ws.exists()
    code, out, err = cli(workspace.root, "identity", "evaluate")
    assert code == 2 and "simulate --identity" in err + out and "Traceback" not in err
