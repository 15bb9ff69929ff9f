"""Every named format ingests its real file with the exact reconciliation asserted.

Expected counts are computed independently inside each test (plain DuckDB SQL or Python over
the raw file), never copied from the loader's output.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import data_file, options, query, scalar

pytestmark = pytest.mark.realdata


def _assert_reconciles(report, rows_in: int) -> None:  # type: ignore[no-untyped-def]
    assert report.rows_in == rows_in
    assert (
        report.rows_in == report.rows_loaded + report.rows_quarantined + report.duplicates_skipped
    )


def _assert_workspace_matches(ws: Workspace, report) -> None:  # type: ignore[no-untyped-def]
    assert scalar(ws, "SELECT count(*) FROM quarantine") == report.rows_quarantined
    log = query(
        ws, "SELECT rows_in, rows_loaded, rows_quarantined, duplicates_skipped FROM ingestions"
    )
    assert log == [
        (report.rows_in, report.rows_loaded, report.rows_quarantined, report.duplicates_skipped)
    ]


def test_online_retail(workspace: Workspace) -> None:
    path = data_file("online_retail/online_retail.parquet")
    raw = f"read_parquet('{path}') t"
    ROW = (
        "(InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country)"
    )
    con = duckdb.connect()
    rows_in = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]  # type: ignore[index]
    bad = """(Quantity < 0 AND InvoiceNo NOT LIKE 'C%') OR UnitPrice < 0
             OR (UnitPrice = 0 AND CustomerID IS NULL) OR InvoiceNo LIKE 'A%'"""
    quarantined = con.execute(f"SELECT count(*) FROM {raw} WHERE {bad}").fetchone()[0]  # type: ignore[index]
    good = con.execute(
        f"SELECT count(*), count(DISTINCT {ROW}) FROM {raw} WHERE NOT ({bad})"
    ).fetchone()
    assert good is not None
    anonymous_distinct = con.execute(
        f"SELECT count(DISTINCT {ROW}) FROM {raw} WHERE NOT ({bad}) AND CustomerID IS NULL"
    ).fetchone()[0]  # type: ignore[index]
    cancel_distinct = con.execute(
        f"SELECT count(DISTINCT {ROW}) FROM {raw} WHERE NOT ({bad}) AND InvoiceNo LIKE 'C%'"
    ).fetchone()[0]  # type: ignore[index]

    report = ingest_file(workspace, path, options("online_retail"))
    _assert_reconciles(report, rows_in)
    assert rows_in == 541_909
    assert report.rows_quarantined == quarantined
    assert report.duplicates_skipped == good[0] - good[1]
    assert report.rows_loaded == good[1]
    _assert_workspace_matches(workspace, report)
    # anonymous purchases are kept, not dropped
    assert (
        scalar(workspace, "SELECT count(*) FROM events WHERE user_id IS NULL") == anonymous_distinct
    )
    # cancellations became refund events, most linked to an earlier order of the same customer
    assert (
        scalar(workspace, "SELECT count(*) FROM events WHERE event_type = 'refund'")
        == cancel_distinct
    )
    linked = scalar(
        workspace,
        "SELECT count(*) FROM events WHERE event_type = 'refund' AND order_id NOT LIKE 'C%'",
    )
    assert linked > 0.5 * cancel_distinct
    assert (
        scalar(
            workspace,
            "SELECT count(*) FROM orders WHERE status = 'refund' AND parent_order_id IS NOT NULL",
        )
        > 0
    )
    assert (
        scalar(
            workspace,
            "SELECT count(*) FROM orders WHERE status IN ('refunded', 'partially_refunded')",
        )
        > 0
    )
    # a refund never points to an order placed after it
    assert (
        scalar(
            workspace,
            """SELECT count(*) FROM events r JOIN orders o USING (order_id)
                                WHERE r.event_type = 'refund' AND o.status <> 'refund'
                                AND o.ts > r.ts""",
        )
        == 0
    )
    # UK local time: a winter invoice at 08:26 London is 08:26 UTC, a summer one is UTC-1h
    first = scalar(workspace, "SELECT min(ts) FROM events")
    assert first == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    # the same file again adds nothing
    again = ingest_file(workspace, path, options("online_retail"))
    assert again.already_ingested and again.rows_loaded == 0 and again.duplicates_skipped == rows_in
    assert scalar(workspace, "SELECT count(*) FROM events") == report.rows_loaded


def test_taobao_userbehavior(workspace: Workspace) -> None:
    path = data_file("taobao_userbehavior/UserBehavior_head.csv")
    start = datetime(2017, 11, 24, 16, tzinfo=UTC).timestamp()
    end = datetime(2017, 12, 3, 16, tzinfo=UTC).timestamp()
    lines = [line.split(",") for line in path.read_text().splitlines() if line.strip()]
    outside = sum(1 for r in lines if not start <= int(r[4]) < end)
    inside = {tuple(r) for r in lines if start <= int(r[4]) < end}
    inside_rows = sum(1 for r in lines if start <= int(r[4]) < end)

    report = ingest_file(workspace, path, options("taobao_userbehavior"))
    _assert_reconciles(report, len(lines))
    assert report.rows_quarantined == outside > 0
    assert report.duplicates_skipped == inside_rows - len(inside)
    assert all("outside the dataset period" in r for r in report.quarantine_reasons)
    _assert_workspace_matches(workspace, report)
    counts = dict(query(workspace, "SELECT event_type, count(*) FROM events GROUP BY 1"))
    expected = {"view": "pv", "cart": "cart", "favorite": "fav", "purchase": "buy"}
    for canonical, raw in expected.items():
        assert counts[canonical] == len({r for r in inside if r[3] == raw})
    assert scalar(workspace, "SELECT count(DISTINCT user_id) FROM events") == len(
        {r[0] for r in inside}
    )


@pytest.mark.parametrize(
    "name,customers", [("CDNOW_sample.txt", 2357), ("CDNOW_master.txt", 23570)]
)
def test_cdnow(workspace: Workspace, name: str, customers: int) -> None:
    path = data_file(f"cdnow/{name}")
    records = [
        line.split()
        for line in path.read_text().splitlines()
        if line.strip() and line.split()[0].isdigit()
    ]
    report = ingest_file(workspace, path, options("cdnow", pseudonymize=False))
    _assert_reconciles(report, len(records))
    assert report.rows_quarantined == 0 and report.duplicates_skipped == 0
    assert scalar(workspace, "SELECT count(DISTINCT user_id) FROM events") == customers
    total = round(sum(float(r[-1]) for r in records), 2)
    assert round(scalar(workspace, "SELECT sum(amount) FROM orders"), 2) == total
    assert scalar(workspace, "SELECT min(ts) FROM orders") == datetime(1997, 1, 1, tzinfo=UTC)


def test_sequences_amazon_beauty(workspace: Workspace) -> None:
    path = data_file("amazon_beauty/Beauty.txt")
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    report = ingest_file(workspace, path, options("sequences", pseudonymize=False))
    _assert_reconciles(report, len(lines))
    assert report.events_loaded == sum(len(r) - 1 for r in lines) == 198_502
    assert scalar(workspace, "SELECT count(DISTINCT item_id) FROM events") == 12_101
    # order inside each user's line is kept by the synthetic timestamps
    user, *items = lines[1]
    got = [
        r[0]
        for r in query(
            workspace, "SELECT item_id FROM events WHERE user_id = ? ORDER BY ts", [user]
        )
    ]
    assert got == items


def test_sessions_diginetica(workspace: Workspace) -> None:
    path = data_file("diginetica/train_sessions.txt")
    lines = path.read_text().splitlines()
    report = ingest_file(workspace, path, options("sessions", pseudonymize=False))
    _assert_reconciles(report, len(lines))
    assert report.events_loaded == sum(len(line.split()) for line in lines)
    assert scalar(workspace, "SELECT count(DISTINCT session_id) FROM events") == report.rows_loaded
    assert scalar(workspace, "SELECT count(*) FROM events WHERE user_id IS NOT NULL") == 0


def test_movielens_with_item_and_user_files(workspace: Workspace) -> None:
    path = data_file("movielens_100k/ml-100k.inter")
    report = ingest_file(workspace, path, options("movielens", pseudonymize=False))
    _assert_reconciles(report, 100_000)
    assert report.rows_loaded == 100_000
    assert scalar(workspace, "SELECT count(*) FROM items WHERE title IS NOT NULL") == 1682
    assert scalar(workspace, "SELECT count(*) FROM users WHERE age IS NOT NULL") == 943
    assert scalar(workspace, "SELECT title FROM items WHERE item_id = '1'") == "Toy Story"
    assert scalar(workspace, "SELECT avg(rating) FROM events") == pytest.approx(3.52986, abs=1e-4)


def test_fraud_data(workspace: Workspace) -> None:
    path = data_file("fraud_ecommerce/Fraud_Data_sample.csv")
    lines = path.read_text().splitlines()[1:]
    frauds = sum(1 for line in lines if line.rsplit(",", 1)[1].strip() == "1")
    report = ingest_file(workspace, path, options("fraud_data"))
    _assert_reconciles(report, len(lines))
    assert report.rows_loaded == len(lines)
    assert (
        scalar(
            workspace,
            "SELECT count(*) FROM labels WHERE subject_type = 'order' "
            "AND name = 'fraud' AND value = '1'",
        )
        == frauds
    )
    raw_device = lines[0].split(",")[4]
    assert (
        scalar(
            workspace,
            "SELECT count(*) FROM orders WHERE attributes::VARCHAR LIKE ?",
            [f"%{raw_device}%"],
        )
        == 0
    )
    assert scalar(workspace, "SELECT count(*) FROM users WHERE signup_ts IS NOT NULL") == len(lines)


def test_online_retail_in_the_kaggle_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The widely shared CSV copy of the same data (``12/1/2010 8:26`` month-first dates
    without seconds, Windows-1252 text, ids written as floats) loads to the same tables:
    every summary figure equals the Parquet load's, and the date order and encoding are
    reported."""
    from shopmind.analytics.metrics import summary
    from shopmind.features.tables import duckdb_tables

    path = data_file("online_retail/online_retail.parquet")
    csv = tmp_path / "data.csv"
    frame = duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')").df()
    when = frame["InvoiceDate"]
    frame["InvoiceDate"] = (
        when.dt.month.astype(str)
        + "/"
        + when.dt.day.astype(str)
        + "/"
        + when.dt.year.astype(str)
        + " "
        + when.dt.hour.astype(str)
        + when.dt.strftime(":%M")
    )
    frame.to_csv(csv, index=False, encoding="cp1252", errors="replace")
    assert not csv.read_bytes().isascii()  # a few descriptions hold non-ASCII letters

    kaggle, parquet = Workspace(tmp_path / "csv"), Workspace(tmp_path / "parquet")
    report = ingest_file(kaggle, csv, options("online_retail"))
    reference = ingest_file(parquet, path, options("online_retail"))
    counts = ("rows_in", "rows_loaded", "rows_quarantined", "duplicates_skipped")
    assert [getattr(report, c) for c in counts] == [getattr(reference, c) for c in counts]
    notes = " ".join(report.warnings)
    assert "read as cp1252" in notes and "month/day/year" in notes
    with duckdb_tables(kaggle) as a, duckdb_tables(parquet) as b:
        assert summary(a) == summary(b)
