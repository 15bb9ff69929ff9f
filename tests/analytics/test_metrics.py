"""Business metrics on a hand-made Online Retail file whose answers are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopmind.analytics.metrics import best_period, metrics_by_period, money, summary
from shopmind.analytics.retention import retention
from shopmind.analytics.trends import trends
from shopmind.features.tables import duckdb_tables
from shopmind.store import Workspace
from tests.analytics.small_retail import small_retail
from tests.conftest import run_cli


@pytest.fixture
def shop(tmp_path: Path) -> Workspace:
    return small_retail(tmp_path)


def test_summary_follows_the_definitions(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        got = summary(tables)
    assert got["currency"] == "GBP"  # the format's default, recorded at ingest
    assert (got["order_lines"], got["orders"], got["customers"]) == (5, 4, 2)
    assert (got["gross_revenue"], got["refunds"], got["net_revenue"]) == (58.0, 20.0, 38.0)
    assert got["aov"] == 9.5
    assert got["conversion"] is None  # a sales log has no browsing to convert from


def test_refunds_dated_by_order_or_by_refund(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        by_order = metrics_by_period(tables, "week", "order")["points"]
        by_refund = metrics_by_period(tables, "week", "refund")["points"]
    assert [p["period"] for p in by_order] == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert [p["net_revenue"] for p in by_order] == [13.0, 5.0, 20.0]
    assert [p["net_revenue"] for p in by_refund] == [33.0, -15.0, 20.0]
    assert [p["partial"] for p in by_order] == [True, False, True]
    assert [(p["new_customers"], p["returning_customers"]) for p in by_order] == [
        (2, 0),
        (0, 1),
        (0, 0),
    ]
    assert [p["orders"] for p in by_order] == [2, 1, 1]


def test_partial_periods_never_rank_best(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        result = trends(tables, "revenue", "week")
    assert result["currency"] == "GBP"
    assert result["partial_periods"] == ["2024-01-01", "2024-01-15"]
    assert result["best"]["period"] == "2024-01-08"  # the partial weeks earn more
    assert best_period([{"partial": True, "value": 1.0}], "value") is None


def test_unobservable_retention_cells_are_blank_not_zero(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        result = retention(tables, "purchase", "purchase", "week", periods=4)
    (cohort,) = result["cohorts"]
    assert cohort["retained"] == [2, 1, 0, None, None]
    assert cohort["rates"][3:] == [None, None]
    assert result["last_period_partial"] and cohort["partial_offset"] == 2


def test_currency_option_overrides_the_format_default(tmp_path: Path) -> None:
    ws = small_retail(tmp_path, currency="EUR")
    with duckdb_tables(ws) as tables:
        assert summary(tables)["currency"] == "EUR"


def test_money_is_rounded_to_cents() -> None:
    assert money(503767.750000012) == 503767.75
    assert money(-0.0) == 0.0 and money(None) is None


def test_cli_shows_currency_and_rounds_for_people(shop: Workspace) -> None:
    ws = str(shop.root)
    table = run_cli("--workspace", ws, "analyze", "trends", "--interval", "week")
    assert table.returncode == 0, table.stderr
    assert "GBP" in table.stdout and "partial" in table.stdout
    assert "best complete week: 2024-01-08 (" in table.stdout and " GBP)" in table.stdout
    # a sales log has no conversion: one line says why instead of a table of blanks
    blank = run_cli("--workspace", ws, "analyze", "trends", "--metric", "conversion")
    assert blank.returncode == 0, blank.stderr
    assert "no conversion values: the data has no browsing events" in blank.stdout
    fresh = run_cli("--workspace", ws, "analyze", "trends", "--metric", "new_customers")
    assert "note: the first day (2024-01-02) counts every customer as new" in fresh.stdout
    data = run_cli("--workspace", ws, "analyze", "summary", "--json").json()
    assert data["net_revenue"] == 38.0 and data["currency"] == "GBP"


def test_ingest_refuses_a_currency_that_is_not_a_code(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("user_id,item_id,event_type,ts\nu,i,view,2024-01-01T00:00:00Z\n")
    result = run_cli(
        "--workspace", str(tmp_path / "ws"), "ingest", str(path), "--currency", "pounds"
    )
    assert result.returncode == 2 and "ISO 4217" in result.stderr


def test_days_without_orders_are_zeros_not_gaps(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        result = trends(tables, "orders", "day")
    days = [p["period"] for p in result["points"]]
    assert days[0] == "2024-01-02" and days[-1] == "2024-01-16" and len(days) == 15
    values = {p["period"]: p["value"] for p in result["points"]}
    assert values["2024-01-05"] == 0 and values["2024-01-09"] == 1
    assert sum(values.values()) == 4  # the summary's orders


def test_a_log_without_prices_has_unknown_revenue_not_zero(tmp_path: Path) -> None:
    """A click log (Taobao) has purchases but no prices: revenue and AOV are unknown."""
    from shopmind.ingest import ingest_file
    from tests.conftest import options

    path = tmp_path / "clicks.csv"
    path.write_text(
        "user_id,item_id,event_type,ts,order_id\n"
        "a,i1,view,2025-01-01T10:00:00Z,\n"
        "a,i1,purchase,2025-01-01T10:05:00Z,o1\n"
        "b,i2,purchase,2025-01-02T10:05:00Z,o2\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options(pseudonymize=False))
    with duckdb_tables(ws) as tables:
        got = summary(tables)
    assert got["orders"] == 2 and got["prices"].startswith("no purchase carries a price")
    assert got["net_revenue"] is None and got["aov"] is None and got["gross_revenue"] is None
    text = run_cli("--workspace", str(ws.root), "analyze", "summary")
    assert text.returncode == 0, text.stderr
    assert "n/a (no prices in the data)" in text.stdout and "0.00" not in text.stdout


def test_lines_of_orders_marked_canceled_are_not_sales(tmp_path: Path) -> None:
    """Olist: purchase lines of an order the orders table marks ``canceled`` or
    ``unavailable`` are no order lines (77k BRL of 2.0M were counted before)."""
    from shopmind.ingest import ingest_file
    from tests.conftest import options

    events = tmp_path / "lines.csv"
    events.write_text(
        "user_id,item_id,event_type,ts,order_id,price\n"
        "a,i1,purchase,2025-01-01T10:05:00Z,o1,10\n"
        "b,i2,purchase,2025-01-02T10:05:00Z,o2,20\n"
        "c,i3,purchase,2025-01-03T10:05:00Z,o3,40\n"
        "c,i3,refund,2025-01-04T10:05:00Z,o3,40\n"
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,user_id,ts,status\n"
        "o1,a,2025-01-01T10:05:00Z,delivered\n"
        "o2,b,2025-01-02T10:05:00Z,Canceled\n"
        "o3,c,2025-01-03T10:05:00Z,unavailable\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, events, options(currency="BRL"))
    ingest_file(ws, orders, options(table="orders"))
    with duckdb_tables(ws) as tables:
        got = summary(tables)
    assert (got["orders"], got["customers"]) == (1, 1)
    assert (got["gross_revenue"], got["refunds"], got["net_revenue"]) == (10.0, 0.0, 10.0)
    from shopmind.analytics.rfm import rfm_table

    with duckdb_tables(ws) as tables:
        assert rfm_table(tables).execute()["monetary"].tolist() == [10.0]  # a's order only
        from shopmind.analytics.segments import user_features

        behaviour = user_features(tables).set_index("user_id")
    # behavioural segments see the same sales: b and c bought nothing that was sold
    assert sorted(zip(behaviour["purchases"], behaviour["spend"], strict=True)) == [
        (0, 0.0),
        (0, 0.0),
        (1, 10.0),
    ]


def test_periods_in_the_shops_time_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ta-Feng (Taipei): sales at 00:30 local on Nov 1 are Oct 31 in UTC. Read in UTC a false
    October appears, and the report says why; SHOPMIND_TIMEZONE reads the shop's own days."""
    from shopmind.errors import WorkspaceError
    from shopmind.ingest import ingest_file
    from tests.conftest import options

    path = tmp_path / "sales.csv"
    path.write_text(
        "user_id,item_id,event_type,ts,price\n"
        "a,i1,purchase,2000-11-01 00:30:00,10\n"
        "b,i2,purchase,2000-11-02 23:30:00,20\n"
        "a,i3,purchase,2000-11-30 23:59:00,5\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options(timezone="Asia/Taipei", currency="TWD"))
    with duckdb_tables(ws) as tables:
        utc = metrics_by_period(tables, "month")
    assert [p["period"] for p in utc["points"]] == ["2000-10-01", "2000-11-01"]
    text = run_cli("--workspace", str(ws.root), "analyze", "summary", "--json")
    assert "SHOPMIND_TIMEZONE=Asia/Taipei" in text.json()["timezone_note"]

    monkeypatch.setenv("SHOPMIND_TIMEZONE", "Asia/Taipei")
    with duckdb_tables(ws) as tables:
        local = metrics_by_period(tables, "day")
        months = metrics_by_period(tables, "month")
        got = summary(tables)
    days = {p["period"]: p["gross_revenue"] for p in local["points"] if p["gross_revenue"]}
    assert days == {"2000-11-01": 10.0, "2000-11-02": 20.0, "2000-11-30": 5.0}
    assert [p["period"] for p in months["points"]] == ["2000-11-01"]
    assert got["first"] == "2000-11-01T00:30:00+08:00" and got["timezone"] == "Asia/Taipei"
    local_cli = run_cli("--workspace", str(ws.root), "analyze", "summary", "--json")
    assert "timezone_note" not in local_cli.json()

    for wrong in ("Mars/Olympus", "right/UTC", "UTC'; --"):  # right/UTC: zoneinfo only
        monkeypatch.setenv("SHOPMIND_TIMEZONE", wrong)
        with pytest.raises(WorkspaceError, match="not a time zone"), duckdb_tables(ws):
            pass


def test_a_period_is_partial_by_what_the_data_can_cover() -> None:
    """CDNOW's last purchase is dated 1998-06-30 (a date): June is complete. A Taobao log
    that stops at 23:59:23 covers its day; one that stops at noon does not, nor does a week
    that ends two days after the last event, nor a timed log whose last event happens to
    fall at midnight. The start is read by day, as before."""
    from shopmind.analytics.metrics import period_partial

    ts = pd.Timestamp
    june, july = ts("1998-06-01"), ts("1998-07-01")
    assert not period_partial(june, july, ts("1997-01-01"), ts("1998-06-30"), dates_only=True)
    assert period_partial(june, july, ts("1997-01-01"), ts("1998-06-29"), dates_only=True)
    assert period_partial(june, july, ts("1997-01-01"), ts("1998-06-30"))  # a timed midnight
    day, next_day = ts("2017-12-03"), ts("2017-12-04")
    assert not period_partial(day, next_day, ts("2017-11-25 00:00:17"), ts("2017-12-03 23:59:23"))
    assert period_partial(day, next_day, ts("2017-11-25"), ts("2017-12-03 12:00"))
    week, end = ts("2011-12-05"), ts("2011-12-12")
    assert period_partial(week, end, ts("2010-12-01"), ts("2011-12-09 12:50"))
    assert period_partial(week, end, ts("2011-12-06 08:00"), ts("2012-01-01"))
    assert not period_partial(week, end, ts("2011-12-05 08:00"), ts("2012-01-01"))


def test_trends_and_retention_read_the_last_month_of_dates_alike(tmp_path: Path) -> None:
    """A log of dates ending June 30: trends called June complete while retention called it
    partial and dropped its cells from the report's headline."""
    from shopmind.ingest import ingest_file
    from tests.conftest import options

    path = tmp_path / "CDNOW_sample.txt"
    path.write_text("1 19970501 1 29.33\n1 19970610 2 29.73\n2 19970502 2 20.76\n2 19970630 1 9\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options("cdnow"))
    with duckdb_tables(ws) as tables:
        assert trends(tables, "orders", "month")["partial_periods"] == []
        cohorts = retention(tables, "purchase", "purchase", "month", periods=2)
    assert cohorts["last_period"] == "1997-06-01" and cohorts["last_period_partial"] is False


def test_a_known_step_missing_from_the_data_is_not_called_unknown(shop: Workspace) -> None:
    """A sales log (purchases, refunds) asked for a view > cart > purchase funnel: the steps
    are event types, absent here; 'Unknown funnel step(s): view, cart' said otherwise."""
    from shopmind.errors import AnalyticsError

    with duckdb_tables(shop) as tables:
        with pytest.raises(AnalyticsError, match="This data has no view, cart events") as absent:
            tables.require_event_types(["view", "cart", "purchase"], "funnel step")
        assert "purchase, refund" in (absent.value.hint or "")
        with pytest.raises(AnalyticsError, match="Unknown funnel step"):
            tables.require_event_types(["purchase", "teleport"], "funnel step")


def test_dates_without_times_give_no_sessions_and_no_hours(tmp_path: Path) -> None:
    """CDNOW's days (YYYYMMDD): 'sessions' of 0 s and an active hour of 0 for everyone meant
    nothing. The sessions summary says so, and profiles leave the hour blank."""
    from shopmind.analytics.profiles import build_profiles
    from shopmind.ingest import ingest_file
    from tests.conftest import options

    path = tmp_path / "CDNOW_sample.txt"
    path.write_text("1 19970101 1 29.33\n1 19970118 2 29.73\n2 19970102 2 20.76\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options("cdnow"))
    with duckdb_tables(ws) as tables:
        assert tables.dates_only()
        profiles = build_profiles(tables)
    assert len(profiles) == 2 and profiles["active_hour"].isna().all()
    said = run_cli("--workspace", str(ws.root), "analyze", "sessions", "--json").json()
    assert "dates without a time of day" in said["note"]
    (tmp_path / "timed").mkdir()
    with duckdb_tables(small_retail(tmp_path / "timed")) as tables:
        assert not tables.dates_only()  # invoices at 10:00, 11:00, ...


def test_rfm_on_a_short_log_says_what_its_names_can_mean(shop: Workspace) -> None:
    """A 9-day log labelled last week's buyers 'Lost'; on two weeks of data the segment
    names are ranks within the window, and the result says so."""
    from shopmind.analytics.rfm import rfm

    with duckdb_tables(shop) as tables:
        result = rfm(tables)
    assert "the data span 14 days" in result["note"] and "not gone" in result["note"]
