"""Overview: the KPIs equal ``shopmind analyze summary --json`` (one number, three faces),
period-over-period change, granularity, freshness, bad dates shown inline."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.serving.web.conftest import Console


def kpis(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', html))


@pytest.fixture(scope="module")
def cli_summary(console: Console) -> dict[str, Any]:
    return dict(console.cli("analyze", "summary"))


def test_overview_numbers_equal_the_cli(console: Console, cli_summary: dict[str, Any]) -> None:
    first, last = cli_summary["first"][:10], cli_summary["last"][:10]
    page = console.client("analyst").get(f"/?start={first}&end={last}&interval=week")
    assert page.status_code == 200
    shown = kpis(page.text)
    assert set(shown) == {"net_revenue", "orders", "customers", "conversion", "aov"}
    for name in ("net_revenue", "aov", "conversion"):
        assert float(shown[name]) == pytest.approx(cli_summary[name], abs=1e-9), name
    for name in ("orders", "customers"):
        assert int(shown[name]) == cli_summary[name], name
    currency = cli_summary["currency"]
    assert currency and f"{cli_summary['net_revenue']:,.2f} {currency}" in page.text
    # the whole range has no earlier period to compare with
    assert page.text.count("– vs previous period") == 5


def test_change_against_the_previous_period(console: Console, cli_summary: dict[str, Any]) -> None:
    from shopmind.analytics.metrics import summary
    from shopmind.features.tables import duckdb_tables
    from shopmind.store import Workspace

    last = date.fromisoformat(cli_summary["last"][:10])
    start = last - timedelta(days=13)
    page = console.client("admin").get(f"/?start={start}&end={last}")
    assert f"compared with {start - timedelta(days=14)} to {start - timedelta(days=1)}" in page.text

    def utc(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    with duckdb_tables(Workspace(console.cli_ws)) as tables:
        now = summary(tables, utc(start), utc(last + timedelta(days=1)))
        before = summary(tables, utc(start - timedelta(days=14)), utc(start))
    assert float(kpis(page.text)["net_revenue"]) == pytest.approx(now["net_revenue"])
    expected = (now["orders"] - before["orders"]) / before["orders"]
    assert f"{100 * expected:+.1f}% vs previous period" in page.text
    points = 100 * (now["conversion"] - before["conversion"])
    assert f"{points:+.1f} pp vs previous period" in page.text  # a ratio changes in points
    assert "Data freshness" in page.text and "Last ingestion" in page.text


def test_revenue_chart_rows_equal_the_cli_trend(console: Console) -> None:
    cli = console.cli("analyze", "trends", "--metric", "revenue", "--interval", "week")
    first, last = cli["points"][0]["period"], cli["points"][-1]["end"]
    client = console.client("analyst")
    page = client.get(f"/?start={first}&end={last}&interval=week")
    assert 'id="chart-net_revenue"' in page.text and 'id="chart-orders"' in page.text
    answer = client.get(f"/?start={first}&end={last}&interval=week&csv=net_revenue")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["period"] for r in rows] == [p["period"] for p in cli["points"]]
    assert [float(r["net_revenue"]) for r in rows] == [p["value"] for p in cli["points"]]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2025-01-20&end=2025-01-10", "before the start date"),
        ("start=20-01-2025", "is not a date"),
        ("interval=year", "must be one of"),
    ],
)
def test_bad_input_is_an_inline_message(console: Console, query: str, message: str) -> None:
    page = console.client("marketer").get(f"/?{query}")
    assert page.status_code == 200
    errors = re.search(r'<div class="errors" role="alert">(.*?)</div>', page.text, re.S)
    assert errors and message in errors.group(1)
    assert len(kpis(page.text)) == 5  # the default range is still shown
