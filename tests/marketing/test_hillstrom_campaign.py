"""A past campaign loaded from a file drives ``abtest analyze``, ``campaign plan`` and
``uplift train``: a generated Hillstrom-shaped file with a planted effect (fast), and the real
MineThatData file with its published effect (Hillstrom 2008: Womens E-Mail vs No E-Mail,
visit 15.1% vs 10.6%, conversion 0.88% vs 0.57%)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shopmind.features.tables import duckdb_tables
from shopmind.reports.sections.uplift import build as uplift_section
from shopmind.store import Workspace
from tests.conftest import data_file, run_cli

ARMS = ("Mens E-Mail", "Womens E-Mail", "No E-Mail")
LOAD = ["--format", "campaign", "--map", "arm=segment", "--map", "converted=conversion"]
LOAD += ["--map", "revenue=spend", "--sent-at", "2008-03-01", "--control", "No E-Mail"]


def hillstrom_like(n: int, seed: int) -> pd.DataFrame:
    """Hillstrom's columns; Womens E-Mail lifts conversion by 8 points for womens buyers only."""
    rng = np.random.default_rng(seed)
    womens = rng.integers(0, 2, n)
    segment = rng.choice(ARMS, n)
    p = 0.03 + 0.08 * womens * (segment == "Womens E-Mail")
    conversion = (rng.random(n) < p).astype(int)
    history = rng.gamma(2.0, 120.0, n).round(2)
    return pd.DataFrame(
        {
            "recency": rng.integers(1, 13, n),
            "history_segment": np.where(history > 200, "3) $200 - $350", "1) $0 - $100"),
            "history": history,
            "mens": rng.integers(0, 2, n),
            "womens": womens,
            "zip_code": rng.choice(["Urban", "Surburban", "Rural"], n),
            "newbie": rng.integers(0, 2, n),
            "channel": rng.choice(["Web", "Phone", "Multichannel"], n),
            "segment": segment,
            "visit": np.maximum(conversion, rng.random(n) < 0.1).astype(int),
            "conversion": conversion,
            "spend": (conversion * rng.uniform(40, 160, n)).round(2),
        }
    )


def _cli(ws: Path, *args: str) -> Any:
    result = run_cli("--workspace", str(ws), *args, "--json")
    assert result.returncode == 0, result.stderr
    return result.json()


def _womens_vs_control(ws: Path, metric: str = "converted") -> dict[str, Any]:
    result = _cli(
        ws, "abtest", "analyze", "--campaign", "hillstrom", "--arm", "Womens E-Mail",
        "--conversion-col", metric,
    )  # fmt: skip
    assert result["control"] == "No E-Mail" and list(result["variants"]) == ["Womens E-Mail"]
    return dict(result["variants"]["Womens E-Mail"]["conversion"])


def _generated(tmp_path: Path) -> Path:
    path = tmp_path / "hillstrom.csv"
    hillstrom_like(3000, seed=5).to_csv(path, index=False)
    ws = tmp_path / "ws"
    report = _cli(ws, "ingest", str(path), *LOAD)
    assert report["rows_loaded"] == 3000 and report["rows_quarantined"] == 0
    return ws


def test_generated_hillstrom_file_drives_abtest(tmp_path: Path) -> None:
    ws = _generated(tmp_path)
    conv = _womens_vs_control(ws)
    assert conv["difference"] > 0.02 and conv["p_value"] < 0.01
    everyone = _cli(ws, "abtest", "analyze", "--campaign", "hillstrom", "--pre-col", "history")
    assert set(everyone["variants"]) == {"Mens E-Mail", "Womens E-Mail"}
    assert (
        everyone["srm"]["counts"]["No E-Mail"]
        + sum(v["users_treatment"] for v in everyone["variants"].values())
        == 3000
    )
    assert "revenue_cuped" in everyone["variants"]["Mens E-Mail"]  # a kept covariate as CUPED x


@pytest.mark.slow  # the uplift model selection fits 8 candidates (~10 s of CPU)
def test_generated_hillstrom_plan_targets_the_planted_persuadables(tmp_path: Path) -> None:
    ws = _generated(tmp_path)
    out = tmp_path / "audience.csv"
    plan = _cli(
        ws, "campaign", "plan", "--campaign", "hillstrom", "--arm", "Womens E-Mail",
        "--budget", "100", "--cost", "0.1", "--margin", "0.5", "--out", str(out),
    )  # fmt: skip
    assert plan["treatment"] == "Womens E-Mail" and plan["control"] == "No E-Mail"
    assert plan["features"] == "campaign covariates" and plan["population"] == 3000
    assert 0 < plan["audience"] <= 1000 and plan["spend"] <= 100
    assert "margin 0.5" in plan["assumptions"]["value"]
    profit = plan["expected_incremental_profit"]
    assert profit["low"] <= profit["estimate"] <= profit["high"] and profit["estimate"] > 0
    # the plan targets the planted persuadables (womens buyers)
    frame = hillstrom_like(3000, seed=5)
    chosen = pd.read_csv(out)
    assert len(chosen) == plan["audience"]
    with Workspace(ws).connect(read_only=True) as con:
        rows = con.execute(
            "SELECT user_id, attributes->>'womens' FROM campaign_assignments"
        ).fetchall()
    womens = {u: int(w) for u, w in rows}
    share = np.mean([womens[u] for u in chosen["user_id"]])
    assert share > frame["womens"].mean() + 0.2
    saved = json.loads((ws / "reports" / "campaign_plan.json").read_text())
    assert saved["campaign_learned_from"] == "hillstrom" and saved["audience"] == plan["audience"]
    model = _cli(ws, "uplift", "train", "--campaign", "hillstrom")
    assert set(model["validation_qini"]) == {"Mens E-Mail", "Womens E-Mail"}
    assert "visit" not in model["features"] and "womens" in model["features"]


def test_budget_pays_for_its_last_contact_and_must_be_finite(tmp_path: Path) -> None:
    ws = _generated(tmp_path)
    plan = ["campaign", "plan", "--campaign", "hillstrom", "--arm", "Womens E-Mail"]
    exact = _cli(ws, *plan, "--budget", "0.3", "--cost", "0.1", "--value", "1000")
    assert exact["audience"] == 3 and exact["spend"] == pytest.approx(0.3)  # 0.3 // 0.1 == 2.0
    huge = _cli(ws, *plan, "--budget", "1e308", "--cost", "1e-308", "--value", "50")
    assert 0 < huge["audience"] <= 3000  # more contacts than any int: everyone worth it
    for budget in ("inf", "1e400", "nan"):
        result = run_cli(
            "--workspace", str(ws), *plan, "--budget", budget, "--cost", "1", "--value", "50"
        )
        assert result.returncode == 2 and "positive, finite" in result.stderr, result.stderr


@pytest.mark.slow
@pytest.mark.realdata
def test_real_hillstrom_published_effect_and_profitable_plan(tmp_path: Path) -> None:
    source = data_file("hillstrom/hillstrom.csv")
    ws = tmp_path / "ws"
    report = _cli(ws, "ingest", str(source), *LOAD)
    assert report["rows_in"] == 64000 == report["rows_loaded"]
    conv = _womens_vs_control(ws)
    assert conv["rate_treatment"] == pytest.approx(0.0088, abs=0.0003)
    assert conv["rate_control"] == pytest.approx(0.0057, abs=0.0003)
    assert conv["difference"] > 0 and conv["p_value"] < 0.05 and conv["ci_low"] > 0
    visit = _womens_vs_control(ws, "visit")
    assert visit["rate_treatment"] == pytest.approx(0.151, abs=0.001)
    assert visit["rate_control"] == pytest.approx(0.106, abs=0.001)
    # stated assumptions: an e-mail costs 0.05, 30% of a converted customer's spend is profit
    plan = _cli(
        ws, "campaign", "plan", "--campaign", "hillstrom", "--arm", "Womens E-Mail",
        "--budget", "1000", "--cost", "0.05", "--margin", "0.3",
        "--out", str(tmp_path / "audience.csv"),
    )  # fmt: skip
    assert plan["population"] == 64000 and plan["audience"] > 0
    assert plan["expected_incremental_profit"]["estimate"] > 0
    with duckdb_tables(Workspace(ws)) as tables:
        page = uplift_section(tables, Workspace(ws)) or ""
    assert "hillstrom" in page and "The plan made with" in page
    assert f"{plan['audience']:,} users" in page
