"""The report's figures are the documented metrics, with currency, partial periods and blank
retention cells; best-sellers leave non-product lines out; the plan shown is the user's."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from shopmind.features.tables import duckdb_tables
from shopmind.marketing.campaign import CampaignBudget
from shopmind.marketing.plans import save_plan
from shopmind.reports.html import build_report
from shopmind.reports.sections.uplift import build as uplift_section
from shopmind.store import Workspace
from tests.analytics.small_retail import small_retail


def _text(page: str) -> str:
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_report_shows_business_figures_with_currency(tmp_path: Path) -> None:
    text = _text(build_report(small_retail(tmp_path)))
    assert (
        "placed 4 orders (with 1 order of guests without an account; 5 order lines): net "
        "revenue 38.00 GBP after 20.00 GBP" in text
    )
    assert "guest orders (no customer id) 1 " in text  # invoice 536004 has no CustomerID
    assert "average order value 9.50 GBP" in text
    assert "the best complete week started 2024-01-08" in text
    assert "Partial weeks" in text and "2024-01-15" in text
    assert "Blank cells cannot be observed yet" in text and "All 2 cohorts shown" in text
    best = text.split("Best-selling items")[1].split("Recommendations")[0]
    assert "non-product lines" in best and "POSTAGE" not in best and "MUG" in best
    assert "title" in best and "标题" not in best and "category" not in best  # empty columns
    assert " nan " not in text and " None " not in text
    assert "Risk No workspace risk model yet: run shopmind risk train" in text
    assert "Customer-service assistant No assistant model yet" in text


def test_report_uses_the_plan_the_user_made(
    sim_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(sim_ws.root, ws.root, ignore=shutil.ignore_patterns("campaign_plan.json"))
    asked: list[CampaignBudget] = []

    def fake_plan(tables: object, budget: CampaignBudget, *args: object) -> tuple[None, dict]:
        asked.append(budget)  # the uplift model itself is tested in tests/marketing
        return None, {
            **PLAN,
            "budget": budget.budget,
            "cost": budget.cost,
            "value": budget.value,
            "audience": 150,
        }

    monkeypatch.setattr("shopmind.marketing.campaign.plan", fake_plan)
    with duckdb_tables(ws) as tables:
        users = int(tables["events"].user_id.nunique().execute())
        assumed = _text(uplift_section(tables, ws) or "")
    assert "No plan made yet" in assumed and "assumed here" in assumed
    assert asked[0].budget == users // 10
    assert f"budget {users // 10:,.2f} CNY, 1.00 CNY per contact, 30.00 CNY" in assumed
    # what `shopmind campaign plan --budget 777 --cost 2 --value 40` saves
    save_plan(ws, {**PLAN, "budget": 777.0, "cost": 2.0, "value": 40.0, "audience": 388})
    with duckdb_tables(ws) as tables:
        shown = _text(uplift_section(tables, ws) or "")
    assert "The plan made with shopmind campaign plan on 2025-03-01T10:00" in shown
    assert "budget 777.00 CNY, 2.00 CNY per contact, 40.00 CNY per conversion" in shown
    assert "Contacting 388 users should bring about 19 extra conversions" in shown


PLAN = {
    "campaign_learned_from": "email_campaign_1",
    "held_out_check": {
        "share": 0.2,
        "uplift": 0.05,
        "qini_coefficient": 0.1,
        "qini_curve": {"x": [0.0, 0.5, 1.0], "y": [0.0, 3.0, 4.0]},
    },
    "expected_incremental_conversions": {"estimate": 19.4, "low": 10.0, "high": 29.0},
    "scored_at": "2025-03-01T10:00:00+00:00",
}


def test_report_names_the_zone_its_days_are_read_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Taobao report began on the eve of the data's first day with nothing saying why:
    the page names the zone of its days, and the one to set when the events were loaded as
    another zone's times (Online Retail: London)."""
    shop = small_retail(tmp_path)
    text = _text(build_report(shop))
    assert "days in UTC (days, weeks and months are read in UTC" in text
    assert "set SHOPMIND_TIMEZONE=Europe/London" in text
    monkeypatch.setenv("SHOPMIND_TIMEZONE", "Europe/London")
    text = _text(build_report(shop))
    assert "days in Europe/London" in text and "set SHOPMIND_TIMEZONE" not in text


def test_retention_headline_is_the_share_of_users_over_whole_cells(tmp_path: Path) -> None:
    """The headline was the unweighted mean of the first column, partial cell included
    (Online Retail: 20.6% where the complete cells give 21.5%)."""
    from shopmind.analytics.retention import retention
    from shopmind.reports.sections import retention as section

    shop = small_retail(tmp_path)
    with duckdb_tables(shop) as tables:
        text = _text(section.build(tables) or "")
        period = re.search(r"in the next (\w+) \((\d+) cohorts", text)
        assert period is not None, text
        result = retention(tables, "purchase", "purchase", period.group(1), periods=8)
    whole = [c for c in result["cohorts"] if c["rates"][1] is not None and c["partial_offset"] != 1]
    assert int(period.group(2)) == len(whole) > 0
    share = sum(c["size"] * c["rates"][1] for c in whole) / sum(c["size"] for c in whole)
    assert text.lstrip().startswith(f"{100 * share:.1f}% of users who did purchase")


def test_trends_of_a_short_log_without_prices_say_what_they_show(tmp_path: Path) -> None:
    """The Taobao head (9 days, no prices) got two partial weeks of active users and no
    word of either: now days, and a line saying revenue is unknown."""
    from shopmind.ingest import ingest_file
    from shopmind.reports.sections import trends as section
    from tests.conftest import options

    rows = ["user_id,item_id,event_type,ts"]
    for user in range(5):
        for day in range(17, 26):
            rows.append(f"u{user},i{day},view,2017-11-{day}T09:00:00Z")
            rows.append(f"u{user},i{day},purchase,2017-11-{day}T10:00:00Z")
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    with duckdb_tables(ws) as tables:
        text = _text(section.build(tables))
    # five users every day: a flat series names no best day
    assert "Daily active users: 5 in every complete day, no best one." in text
    path = tmp_path / "one_more.csv"
    path.write_text("user_id,item_id,event_type,ts\nu9,i20,view,2017-11-20T12:00:00Z\n")
    ingest_file(ws, path, options())
    with duckdb_tables(ws) as tables:
        text = _text(section.build(tables))
    assert "Daily active users: the best complete day started 2017-11-20" in text
    assert (
        "No purchase carries a price, so revenue is unknown: showing active users per day" in text
    )


def test_retention_headline_without_a_whole_next_period_says_so(tmp_path: Path) -> None:
    """One day of data: no cohort's next day is observable; the headline said 'nan%'."""
    from shopmind.ingest import ingest_file
    from shopmind.reports.sections import retention as section
    from tests.conftest import options

    path = tmp_path / "day.csv"
    path.write_text(
        "user_id,item_id,event_type,ts\n"
        "a,i1,purchase,2024-03-01T09:00:00Z\nb,i2,purchase,2024-03-01T10:00:00Z\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    with duckdb_tables(ws) as tables:
        text = _text(section.build(tables) or "")
    assert "No cohort's next day is complete yet." in text and "nan" not in text
