"""Campaign planning picks the users the simulator planted as persuadable, within budget."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, query, run_cli


@pytest.mark.slow
def test_plan_targets_planted_uplift_within_budget(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=5000, days=60, seed=3)), key=TEST_KEY)
    out = tmp_path / "audience.csv"
    result = run_cli(
        "--workspace",
        str(ws.root),
        "campaign",
        "plan",
        "--budget",
        "800",
        "--cost",
        "1",
        "--value",
        "30",
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = result.json()
    audience = pd.read_csv(out)
    assert len(audience) == summary["audience"] <= 800
    assert summary["spend"] <= summary["budget"]
    assert (audience["expected_profit"] > 0).all()
    assert list(audience["uplift"]) == sorted(audience["uplift"], reverse=True)
    conv = summary["expected_incremental_conversions"]
    assert conv["low"] <= conv["estimate"] <= conv["high"]
    assert sum(summary["segment_mix"].values()) == len(audience)
    planted = pd.DataFrame(
        query(ws, "SELECT subject_id, CAST(value AS DOUBLE) FROM labels WHERE name = 'uplift'"),
        columns=["user_id", "tau"],
    )
    chosen = planted[planted["user_id"].isin(audience["user_id"])]["tau"].mean()
    assert chosen > planted["tau"].mean() + 0.01  # the plan finds the persuadables
