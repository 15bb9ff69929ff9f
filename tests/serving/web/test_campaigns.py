"""Campaigns page: the library behind it refuses bad budgets and empty audiences with a
message, and analyses a finished campaign exactly as ``shopmind abtest analyze``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shopmind.errors import ShopmindError
from shopmind.marketing.campaign_view import (
    analyze_campaign,
    audience_csv,
    campaigns,
    check_budget,
)
from shopmind.store import Workspace
from tests.conftest import run_cli
from tests.serving.helpers import ENV
from tests.serving.web.conftest import Console, form_token
from tests.serving.web.pages_b import audit_actions, b_console, b_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return b_workspace(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    """The shared server of the page tests (overrides the conftest's for ``browser_page``)."""
    return b_console(tmp_path_factory.getbasetemp())


@pytest.mark.parametrize(
    ("budget", "cost", "value", "message"),
    [
        (-1, 2, 100, "budget must be a positive"),
        (500, 0, 100, "cost per contact must be"),
        (500, 2, float("nan"), "value must be"),
        (1, 2, 100, "does not pay for one contact"),
    ],
)
def test_bad_budgets_are_refused_with_the_fix(
    budget: float, cost: float, value: float, message: str
) -> None:
    with pytest.raises(ShopmindError, match=message) as raised:
        check_budget(budget, cost, value)
    assert raised.value.hint


def test_audience_csv_and_empty_audience() -> None:
    audience = pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "uplift": [0.1, 0.05],
            "expected_profit": [8.0, 3.0],
            "segment": ["Champions", None],
        }
    )
    text, rows = audience_csv(audience)
    assert rows == 2 and text.splitlines() == [
        "user_id,uplift,expected_profit,segment",
        "u1,0.1,8,Champions",
        "u2,0.05,3,",
    ]
    assert audience_csv(audience, "Champions")[1] == 1
    with pytest.raises(ShopmindError, match="audience is empty"):
        audience_csv(audience, "Lost")


def test_campaign_analysis_equals_abtest_analyze(ws: Path) -> None:
    with Workspace(ws).connect(read_only=True) as con:
        found = campaigns(con)
        assert [c["campaign_id"] for c in found] == ["email_campaign_1"]
        result = analyze_campaign(con, "email_campaign_1")
        with pytest.raises(ShopmindError, match="nope"):
            analyze_campaign(con, "nope")
    cli = run_cli(
        "--workspace",
        str(ws),
        "abtest",
        "analyze",
        "--campaign",
        "email_campaign_1",
        "--json",
        env=ENV,
    )
    assert cli.returncode == 0, cli.stderr
    expected = cli.json()
    assert result["srm"]["counts"] == expected["srm"]["counts"]
    for arm, entry in expected["variants"].items():
        for metric in ("conversion", "revenue", "revenue_cuped"):
            for key in ("difference", "ci_low", "ci_high", "p_value"):
                assert result["variants"][arm][metric][key] == pytest.approx(
                    entry[metric][key], nan_ok=True
                ), (metric, key)


def test_campaigns_are_refused_to_other_roles(console: Console) -> None:
    for role in ("analyst", "agent", "risk_analyst"):
        client = console.client(role)
        for path in ("/campaigns", "/campaigns/export?audience=x", "/campaigns/analysis"):
            assert client.get(path).status_code == 403, (role, path)


def test_bad_plan_input_is_an_inline_message(console: Console) -> None:
    client = console.client("marketer")
    token = form_token(client.get("/campaigns").text)
    for budget, message in (
        ("-1", "The budget must be a positive, finite number"),
        ("inf", "The budget must be a positive, finite number"),  # was a 500
        ("abc", "Budget"),
    ):
        page = client.post(
            "/campaigns/plan", data={"csrf": token, "budget": budget, "cost": "1", "value": "50"}
        )
        assert page.status_code == 200 and 'role="alert"' in page.text, budget
        assert message in page.text
    empty = client.post(
        "/campaigns/audience",
        data={
            "csrf": token,
            "name": "nobody",
            "source": "segment",
            "segment": "Champions",
            "min_score": "1e12",
        },
    )
    assert empty.status_code == 200 and "The audience is empty" in empty.text
    no_plan = client.post(
        "/campaigns/audience", data={"csrf": token, "name": "p", "source": "plan"}
    )
    assert "No plan yet" in no_plan.text


def test_build_and_export_an_audience(console: Console) -> None:
    client = console.client("marketer")
    token = form_token(client.get("/campaigns").text)
    built = client.post(
        "/campaigns/audience",
        data={"csrf": token, "name": "champions_b", "source": "segment", "segment": "Champions"},
    )
    assert built.status_code == 303
    page = client.get("/campaigns")
    assert 'data-audience="champions_b"' in page.text and "Audience champions_b stored" in page.text
    export = client.get("/campaigns/export?audience=champions_b")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert rows and list(rows[0]) == ["rank", "user_id", "score"]
    with Workspace(console.cli_ws).connect(read_only=True) as con:
        champions = {
            u
            for (u,) in con.execute(
                "SELECT user_id FROM user_profiles WHERE rfm_segment = 'Champions'"
            ).fetchall()
        }
    assert {r["user_id"] for r in rows} == champions
    revealed = client.post("/campaigns/export", data={"csrf": token, "audience": "champions_b"})
    assert revealed.status_code == 200, revealed.text
    assert revealed.headers["content-type"].startswith("text/csv"), revealed.text.split(
        'role="alert"'
    )[1][:300]
    header = next(csv.reader(io.StringIO(revealed.text)))
    assert header == ["rank", "user_id", "score", "original_id", "email", "phone"]
    people = list(csv.DictReader(io.StringIO(revealed.text)))
    assert len(people) == len(rows) and all("@" in p["email"] for p in people)
    assert audit_actions(console, "console audience export")
    assert audit_actions(console, "vault reveal")[0]["outcome"] == "ok"


def test_campaign_analysis_page(console: Console) -> None:
    page = console.client("marketer").get("/campaigns/analysis?campaign=email_campaign_1")
    expected = console.cli("abtest", "analyze", "--campaign", "email_campaign_1")
    diff = expected["variants"]["email"]["conversion"]["difference"]
    assert page.status_code == 200 and f"{diff:,.4f}" in page.text
    assert 'id="chart-conversion_lift"' in page.text
    missing = console.client("marketer").get("/campaigns/analysis?campaign=nope")
    assert missing.status_code == 200 and 'role="alert"' in missing.text


@pytest.mark.slow
def test_plan_on_the_page_equals_campaign_plan_json(console: Console, tmp_path: Path) -> None:
    client = console.client("admin")
    token = form_token(client.get("/campaigns").text)
    page = client.post(
        "/campaigns/plan", data={"csrf": token, "budget": "500", "cost": "2", "value": "200"}
    )
    assert page.status_code == 200 and 'id="plan-result"' in page.text
    cli = console.cli(
        "campaign",
        "plan",
        "--budget",
        "500",
        "--cost",
        "2",
        "--value",
        "200",
        "--out",
        str(tmp_path / "plan.csv"),
    )
    profit = cli["expected_incremental_profit"]
    assert f'data-value="{profit["estimate"]}"' in page.text
    assert f'data-low="{profit["low"]}" data-high="{profit["high"]}"' in page.text
    assert f'data-metric="audience" data-value="{cli["audience"]}"' in page.text
    download = client.get("/campaigns/plan.csv")
    assert len(download.text.splitlines()) == cli["audience"] + 1


@pytest.mark.slow
def test_build_and_export_an_audience_in_the_browser(
    browser_page: Any, console: Console, tmp_path: Path
) -> None:
    page = browser_page("marketer")
    page.goto(f"{console.base}/campaigns")
    page.fill("#f-name", "lost_b")
    page.select_option("#f-source", "segment")
    page.select_option("#f-segment", "Lost")
    page.click("#build-form button[type=submit]")
    page.wait_for_selector("tr[data-audience='lost_b']")
    with page.expect_download() as info:
        page.click("tr[data-audience='lost_b'] a.export-link")
    path = tmp_path / "lost_b.csv"
    info.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "rank,user_id,score" and len(lines) > 1
