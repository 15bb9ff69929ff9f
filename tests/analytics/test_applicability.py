"""`make demo` steps: run when they apply, skipped with one line when not, errors stop it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shopmind.analytics.applicability import STEPS, why_not
from tests.analytics.small_retail import small_retail
from tests.conftest import REPO


@pytest.fixture
def shop(tmp_path: Path):
    return small_retail(tmp_path)


def test_a_sales_log_has_no_funnel_and_no_campaign(shop) -> None:
    assert "needs two of view, cart, purchase" in (why_not(shop, "funnel") or "")
    assert "campaign_assignments is empty" in (why_not(shop, "campaign") or "")
    assert "campaign 'spring'" in (why_not(shop, "abtest", "spring") or "")
    assert "repeat buyers" in (why_not(shop, "clv") or "")
    for step in ("rfm", "profiles", "propensity", "recommend", "report"):
        assert why_not(shop, step) is None, step
    assert len(STEPS) == 9


def _step(ws: Path, step: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts/demo_step.py"), str(ws), step, "--", *command],
        capture_output=True,
        text=True,
        check=False,
    )


def test_demo_step_skips_with_a_reason_and_stops_on_real_errors(shop) -> None:
    skipped = _step(shop.root, "funnel", "false")
    assert skipped.returncode == 0
    assert skipped.stdout.startswith("skipped funnel: the data has purchase, refund events")
    failed = _step(shop.root, "rfm", "false")  # applies, and the command fails: make stops
    assert failed.returncode == 1
    ran = _step(shop.root, "rfm", "true")
    assert ran.returncode == 0 and ran.stdout.startswith("+ true")


def test_the_makefile_demo_has_no_ignored_steps() -> None:
    recipe = (REPO / "Makefile").read_text().split("\ndemo:")[1].split("\n\n")[0]
    assert not [line for line in recipe.splitlines() if line.startswith("\t-")]


def test_short_logs_and_logs_without_prices_name_the_real_reason(tmp_path: Path) -> None:
    """The Taobao head: 9 days, repeat buyers, no prices. A 7-day propensity horizon needs
    more than 21 days (the demo stopped there with an error), and CLV is skipped because
    no purchase has a price, not because nobody bought twice."""
    from shopmind.ingest import ingest_file
    from shopmind.store import Workspace
    from tests.conftest import options

    rows = ["user_id,item_id,event_type,ts"]
    for user in range(12):
        for day in (1, 5, 9):
            rows.append(f"u{user},i{day},purchase,2017-11-{day + 16:02d}T10:00:00Z")
            rows.append(f"u{user},i{day + 1},view,2017-11-{day + 16:02d}T09:00:00Z")
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    clv = why_not(ws, "clv") or ""
    assert (
        "12 customers bought on more than one day" in clv and "no purchase carries a price" in clv
    )
    short = why_not(ws, "propensity", horizon_days=7) or ""
    assert "span 8.0 days" in short and "--horizon 2d" in short
    assert why_not(ws, "propensity", horizon_days=2) is None
    # the hint is a horizon it accepts, also when the span is a multiple of three days
    from shopmind.analytics.applicability import fitting_horizon

    assert [fitting_horizon(d) for d in (9.0, 8.0, 10.0, 2.9, 0.0)] == [2, 2, 3, 0, 0]
    skipped = _step(ws.root, "propensity", "false", "--horizon", "7d")
    assert skipped.returncode == 0 and skipped.stdout.startswith("skipped propensity: the data")


def test_a_missing_campaign_names_the_ones_the_workspace_holds(sim_ws) -> None:
    reason = why_not(sim_ws, "abtest", "spring") or ""
    assert "no campaign 'spring'" in reason and "it holds email_campaign_1" in reason
    assert why_not(sim_ws, "abtest", "email_campaign_1") is None
