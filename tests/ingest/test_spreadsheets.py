"""Workbooks load like their CSV export: UCI Online Retail II keeps one year per sheet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from shopmind.errors import IngestError
from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import options, query, scalar

HEADER = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]


def _workbook(path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")  # writes the test file (dev dependency)
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Year 2009-2010"
    first.append(HEADER)
    first.append(
        [
            "489434",
            "85048",
            "GLASS BALL 20 LIGHTS",
            12,
            dt.datetime(2009, 12, 1, 7, 45),
            6.95,
            13085,
            "United Kingdom",
        ]
    )
    first.append(
        [
            489435,
            "22087",
            "PAPER BUNTING",
            2,
            dt.datetime(2009, 12, 1, 8, 0),
            2.95,
            13085.0,
            "United Kingdom",
        ]
    )
    first.append(
        [
            "489436",
            "22088",
            "BROKEN ROW",
            0,
            dt.datetime(2009, 12, 1, 9, 0),
            1.0,
            13085,
            "United Kingdom",
        ]
    )
    second = book.create_sheet("Year 2010-2011")
    second.append(HEADER)
    second.append(
        [
            "536365",
            "85123A",
            "WHITE HANGING HEART",
            6,
            dt.datetime(2011, 6, 1, 8, 26),
            2.55,
            17850,
            "United Kingdom",
        ]
    )
    notes = book.create_sheet("Notes")
    notes.append(["about", "this file"])
    book.save(path)
    return path


def test_year_sheets_load_as_one_file(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "online_retail_II.xlsx")
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options("online_retail"))
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (4, 3, 1)
    # the bad row keeps its sheet row number (header = row 1)
    assert query(ws, "SELECT row_number, reason FROM quarantine") == [(4, "Quantity is 0")]
    # whole numbers stored as floats by Excel are ids without '.0'; times in UK local time
    assert scalar(ws, "SELECT count(DISTINCT user_id) FROM events") == 2
    assert scalar(ws, "SELECT count(*) FROM events WHERE order_id = '489435'") == 1
    summer = scalar(ws, "SELECT ts FROM events WHERE order_id = '536365'")
    assert summer == dt.datetime(2011, 6, 1, 7, 26, tzinfo=dt.UTC)  # BST is UTC+1
    notes = " ".join(report.warnings)
    assert "Year 2009-2010, Year 2010-2011" in notes and "Notes" in notes
    assert ingest_file(ws, path, options("online_retail")).already_ingested


def test_one_sheet_and_unknown_sheets(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "book.xlsx")
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options("online_retail", sheet="Year 2010-2011"))
    assert (report.rows_in, report.rows_loaded) == (1, 1)
    with pytest.raises(IngestError, match="No sheet 'Sales'") as error:
        ingest_file(Workspace(tmp_path / "ws2"), path, options("online_retail", sheet="Sales"))
    assert "Year 2009-2010" in (error.value.hint or "")


def test_a_cover_sheet_and_a_wider_used_range_do_not_drop_data(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Sales report"])
    for name, rows in (("Jan", 3), ("Feb", 2)):
        sheet = book.create_sheet(name)
        sheet.append(HEADER)
        for i in range(rows):
            sheet.append(
                [
                    f"{name}{i}",
                    "85048",
                    "LIGHTS",
                    1,
                    dt.datetime(2010, 1, 4, 9),
                    2.5,
                    12345678901234567,
                    "United Kingdom",
                ]
            )
    book["Feb"]["J5"] = "a note far to the right"  # widens the used range: its row is refused
    path = tmp_path / "report.xlsx"
    book.save(path)
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options("online_retail"))
    assert (report.rows_loaded, report.rows_quarantined) == (5, 1)
    assert any("Cover" in w for w in report.warnings)
    # a 17-digit customer number keeps its digits (no 1.2e+16)
    assert scalar(ws, "SELECT count(DISTINCT user_id) FROM events") == 1
