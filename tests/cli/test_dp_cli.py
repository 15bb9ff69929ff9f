"""``shopmind dp`` through the real CLI: budget, releases, refusal and the ledger."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from shopmind.analytics.private import release_segments
from shopmind.store.privacy_budget import set_budget
from tests.analytics.test_private import build_shop
from tests.conftest import run_cli


def test_release_beyond_the_budget_is_refused_by_the_cli(tmp_path: Path) -> None:
    workspace = build_shop(tmp_path, users=40)
    set_budget(workspace, 1.5, principal="cli:setup")
    release_segments(workspace, 1.0, principal="cli:setup")
    ws = str(workspace.root)
    refused = run_cli(
        "--workspace", ws, "dp", "release", "funnel", "--steps", "view,purchase",
        "--epsilon", "0.6",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "Refused" in refused.stderr and "0.5 left" in refused.stderr
    assert "dp budget --set" in refused.stderr and "Traceback" not in refused.stderr
    assert refused.stdout == ""  # nothing released
    ledger = run_cli("--workspace", ws, "dp", "budget", "--json")
    assert ledger.returncode == 0, ledger.stderr
    body = ledger.json()
    assert body["epsilon_total"] == 1.5 and body["epsilon_spent"] == 1.0
    assert body["releases"] == 1 and body["ledger"][0]["kind"] == "segments"
    assert body["ledger"][0]["noise_scale"] == {"customers": 2.0, "net_revenue": 10_000.0}


@pytest.mark.slow
def test_budget_releases_and_ledger_through_the_cli(tmp_path: Path) -> None:
    ws = str(build_shop(tmp_path, users=60).root)
    fresh = run_cli("--workspace", ws, "dp", "budget", "--set", "1.5", "--json")
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.json()["epsilon_total"] == 1.5 and fresh.json()["epsilon_spent"] == 0.0

    out = tmp_path / "segments.csv"
    seg = run_cli(
        "--workspace", ws, "dp", "release", "segments", "--epsilon", "1", "--out", str(out),
        "--json",
    )  # fmt: skip
    assert seg.returncode == 0, seg.stderr
    body = seg.json()
    assert body["noise"]["customers"]["scale"] == 2.0  # epsilon 0.5 each, sensitivity 1
    assert body["noise"]["net_revenue"]["scale"] == 10_000.0  # sensitivity 5000
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["segment"] for r in rows] == [r["segment"] for r in body["rows"]]
    assert {r["customers_noise_scale"] for r in rows} == {"2.0"}

    funnel = run_cli(
        "--workspace", ws, "dp", "release", "funnel", "--steps", "view,cart,purchase",
        "--epsilon", "0.5",
    )  # fmt: skip
    assert funnel.returncode == 0, funnel.stderr
    assert "discrete Laplace noise, scale 2" in funnel.stdout

    ledger = run_cli("--workspace", ws, "dp", "budget", "--json").json()
    assert ledger["epsilon_spent"] == 1.5 and ledger["epsilon_remaining"] == 0.0
    assert [e["kind"] for e in ledger["ledger"]] == ["funnel", "segments"]
    assert [e["epsilon"] for e in ledger["ledger"]] == [0.5, 1.0]
    assert all(e["principal"].startswith("cli:") for e in ledger["ledger"])

    lower = run_cli("--workspace", ws, "dp", "budget", "--set", "1")
    assert lower.returncode == 2 and "already spent" in lower.stderr
