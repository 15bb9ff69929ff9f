"""Exports from spreadsheets and Windows tools: day- or month-first dates, text not in UTF-8.

The Kaggle copy of Online Retail (``data.csv``) is the model case: ``12/1/2010 8:26``
month-first dates and a few Windows-1252 bytes ('£'); every row of it was refused before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopmind.errors import IngestError
from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import options, query, run_cli, scalar

RETAIL_HEADER = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
)


def _events(path: Path, dates: list[str]) -> Path:
    lines = [f"u{i % 3},i{i},view,{d}" for i, d in enumerate(dates)]
    path.write_text("user_id,item_id,event_type,ts\n" + "\n".join(lines) + "\n")
    return path


def _days(ws: Workspace) -> list[str]:
    rows = query(
        ws,
        "SELECT strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') AS t FROM events ORDER BY t",
    )
    return [r[0] for r in rows]


def test_kaggle_online_retail_month_first_and_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(
        RETAIL_HEADER.encode()
        + b"536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
        + b"536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583,France\n"
        + b"536381,22139,TEA SET \xa3 11 PC,1,12/13/2010 9:41,4.95,15311,United Kingdom\n"
    )
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options("online_retail"))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 0), report.quarantine_reasons
    # UK local time (GMT in December): the instants are the written clock times
    assert _days(ws) == ["2010-12-01 08:26", "2010-12-01 08:45", "2010-12-13 09:41"]
    assert scalar(ws, "SELECT count(*) FROM items WHERE title = 'TEA SET £ 11 PC'") == 1
    notes = " ".join(report.warnings)
    assert "read as cp1252" in notes and "month/day/year" in notes and "13" in notes
    stored = json.loads(scalar(ws, "SELECT options FROM ingestions"))
    assert stored["date_formats"]["ts"].startswith("%m/%d/%Y") and stored["encoding"] == "cp1252"


@pytest.mark.parametrize(
    ("dates", "expected", "note"),
    [
        # a first part above 12: day-first
        (["13/01/2024 10:00", "02/01/2024 11:30"], ["2024-01-02 11:30", "2024-01-13 10:00"], "13"),
        # nothing above 12: the reading that spans fewer days (1 against 31) wins
        (
            ["01/12/2024 10:00", "02/12/2024 09:00"],
            ["2024-12-01 10:00", "2024-12-02 09:00"],
            "1 days",
        ),
        (
            ["12/1/2024 10:00", "12/2/2024 09:00"],
            ["2024-12-01 10:00", "2024-12-02 09:00"],
            "1 days",
        ),
        # dotted dates are day-first; date-only values are midnight; 12-hour clocks
        (["03.04.2024 10:00:05", "05.04.2024"], ["2024-04-03 10:00", "2024-04-05 00:00"], "day."),
        (["4/3/2024 1:05 PM", "4/30/2024 9:00 AM"], ["2024-04-03 13:05", "2024-04-30 09:00"], "30"),
    ],
)
def test_date_order_is_read_from_the_column(
    tmp_path: Path, dates: list[str], expected: list[str], note: str
) -> None:
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, _events(tmp_path / "e.csv", dates), options(timezone="UTC"))
    assert report.rows_loaded == len(dates), report.quarantine_reasons
    assert _days(ws) == expected
    assert any(note in w for w in report.warnings), report.warnings


def test_date_format_option_overrides_the_guess(tmp_path: Path) -> None:
    path = _events(tmp_path / "e.csv", ["01/12/2024 10:00", "02/12/2024 09:00"])
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options(timezone="UTC", date_format="mdy"))
    assert _days(ws) == ["2024-01-12 10:00", "2024-02-12 09:00"]
    ws2 = Workspace(tmp_path / "ws2")
    report = ingest_file(ws2, path, options(timezone="UTC", date_format="%d/%m/%Y %H:%M"))
    assert _days(ws2) == ["2024-12-01 10:00", "2024-12-02 09:00"] and not report.warnings


def test_dates_without_a_zone_still_need_one(tmp_path: Path) -> None:
    # generic events carry no default zone: the day-first date is read but refused, with why
    path = _events(tmp_path / "e.csv", ["13/01/2024 10:00", "02/01/2024 11:30"])
    with pytest.raises(IngestError, match="no time zone"):
        ingest_file(Workspace(tmp_path / "ws"), path, options())


def test_impossible_dates_and_bad_options_are_refused(tmp_path: Path) -> None:
    path = _events(tmp_path / "e.csv", ["13/01/2024 10:00", "02/25/2024 11:30"])
    with pytest.raises(IngestError, match="neither day/month nor month/day"):
        ingest_file(Workspace(tmp_path / "ws"), path, options(timezone="UTC"))
    with pytest.raises(IngestError, match="date order or a pattern"):
        ingest_file(Workspace(tmp_path / "ws"), path, options(date_format="ydm"))
    result = run_cli("ingest", str(path), "--encoding", "klingon", env={"COLUMNS": "200"})
    assert result.returncode == 2 and "not a known text encoding" in result.stderr


def test_chinese_gbk_stays_quarantined_until_read_with_its_encoding(tmp_path: Path) -> None:
    """Double-byte GBK is not guessed (its bytes come in pairs, unlike accented letters);
    loading the file again with --encoding gbk loads the refused lines and empties their
    quarantine, and the lines loaded the first time count as duplicates."""
    path = tmp_path / "gbk.csv"
    path.write_bytes(
        b"user_id,item_id,event_type,ts,query\n"
        b"u1,i1,view,2024-03-01T10:00:00Z,plain\n"
        b"u2,i2,search,2024-03-01T11:00:00Z," + "连衣裙".encode("gbk") + b"\n"
    )
    ws = Workspace(tmp_path / "ws")
    first = ingest_file(ws, path, options())
    assert (first.rows_loaded, first.rows_quarantined) == (1, 1)
    assert any("--encoding" in w for w in first.warnings)
    again = ingest_file(ws, path, options(encoding="gbk"))
    assert (again.rows_loaded, again.duplicates_skipped, again.rows_quarantined) == (1, 1, 0)
    assert scalar(ws, "SELECT count(*) FROM events") == 2
    assert scalar(ws, "SELECT query FROM events WHERE query <> 'plain'") == "连衣裙"
    assert scalar(ws, "SELECT count(*) FROM quarantine") == 0
    assert ingest_file(ws, path, options(encoding="gbk")).already_ingested


def test_utf16_export_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = "user_id,item_id,event_type,ts\nu1,café,view,2024-03-01T10:00:00Z\n"
    path.write_bytes(text.encode("utf-16"))  # with a byte-order mark, as Excel writes it
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options(encoding="utf-16"))
    assert report.rows_loaded == 1 and scalar(ws, "SELECT item_id FROM events") == "café"


def test_a_broken_byte_in_utf8_text_is_quarantined_not_guessed(tmp_path: Path) -> None:
    # valid multi-byte UTF-8 elsewhere: the file is UTF-8 and the bad line is refused
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"user_id,item_id,event_type,ts\n"
        + "u1,crème,view,2024-03-01T10:00:00Z\n".encode()
        + b"u2,caf\xe9,view,2024-03-01T10:00:00Z\n"
    )
    report = ingest_file(Workspace(tmp_path / "ws"), path, options())
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert not any("read as cp1252" in w for w in report.warnings)


def test_reading_again_keeps_exactly_the_lines_still_refused(tmp_path: Path) -> None:
    """A second read in another encoding loads what the first refused as unreadable; the
    quarantine then holds exactly the lines still not loaded (a bad date stays, once)."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"user_id,item_id,event_type,ts,query\n"
        b"u1,i1,view,2024-03-01T10:00:00Z,plain\n"
        b"u2,i2,search,2024-03-01T11:00:00Z," + "连衣裙".encode("gbk") + b"\n"
        b"u3,i3,view,not-a-date,x\n"
    )
    ws = Workspace(tmp_path / "ws")
    first = ingest_file(ws, path, options())
    assert (first.rows_loaded, first.rows_quarantined) == (1, 2)
    again = ingest_file(ws, path, options(encoding="gbk"))
    assert (again.rows_loaded, again.duplicates_skipped, again.rows_quarantined) == (1, 1, 1)
    assert query(ws, "SELECT row_number FROM quarantine") == [(4,)]
    # the same codec under another name, or UTF-8 for a file first read as UTF-8: no re-read
    assert ingest_file(ws, path, options(encoding="GBK")).already_ingested
    other = Workspace(tmp_path / "ws2")
    ingest_file(other, path, options())
    assert ingest_file(other, path, options(encoding="utf_8")).already_ingested


def test_encodings_that_are_not_text_are_refused(tmp_path: Path) -> None:
    path = _events(tmp_path / "e.csv", ["2024-01-01T10:00:00Z"])
    for name in ("hex", "rot13", "klingon"):
        with pytest.raises(IngestError, match="not a known text encoding"):
            ingest_file(Workspace(tmp_path / "ws"), path, options(encoding=name))
    bom_less = tmp_path / "u16.csv"
    bom_less.write_bytes("user_id,item_id,event_type,ts\n".encode("utf-16-le") + b"\x00")
    with pytest.raises(IngestError, match="cannot be read as utf-16"):
        ingest_file(Workspace(tmp_path / "ws3"), bom_less, options(encoding="utf-16"))


def test_patterns_with_offsets_and_impossible_compact_dates(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text("user_id,item_id,event_type,ts\nu1,i1,view,31/01/2024 10:00 +0100\n")
    ws = Workspace(tmp_path / "ws")
    # the pattern reads the offset: no --timezone needed, and none shifts the instant
    ingest_file(ws, path, options(date_format="%d/%m/%Y %H:%M %z", timezone="America/New_York"))
    assert _days(ws) == ["2024-01-31 09:00"]
    compact = tmp_path / "c.csv"
    compact.write_text("user_id,item_id,event_type,ts\nu1,i1,view,20240105\nu2,i2,view,20240231\n")
    report = ingest_file(Workspace(tmp_path / "ws2"), compact, options(timezone="UTC"))
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)  # 31 February: one row


def test_birth_dates_are_personal_whatever_the_spelling(tmp_path: Path) -> None:
    rows = ["user_id,customer_dob,Geburtsdatum"] + [
        f"u{i},0{1 + i % 9}/1{i % 3}/19{60 + i},1{i % 9}.0{1 + i % 9}.19{70 + i}" for i in range(30)
    ]
    path = tmp_path / "users.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options(table="users"))
    stored = scalar(ws, "SELECT string_agg(CAST(attributes AS VARCHAR), ' ') FROM users")
    assert "/19" not in stored and ".19" not in stored


def test_a_typo_is_quarantined_not_a_reason_to_refuse_the_file(tmp_path: Path) -> None:
    dates = [f"{d}/01/2024 10:00" for d in range(13, 29)] * 10 + ["13/13/2024 10:00"]
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, _events(tmp_path / "e.csv", dates), options(timezone="UTC"))
    assert (report.rows_loaded, report.rows_quarantined) == (len(dates) - 1, 1)
    assert any("day/month/year" in w for w in report.warnings)


def test_no_row_loads_error_shows_the_first_value_and_the_option_to_try(tmp_path: Path) -> None:
    """Amazon reviews' ``reviewTime`` '09 13, 2009': the error quotes a value and names
    --date-format, which loads the file."""
    path = tmp_path / "reviews.csv"
    path.write_text('user_id,item_id,reviewTime\nA1,B1,"09 13, 2009"\nA2,B2,"10 01, 2010"\n')
    ws = Workspace(tmp_path / "ws")
    mapping = {"ts": "reviewTime"}
    with pytest.raises(IngestError) as refused:
        ingest_file(ws, path, options(mapping=mapping, event_type="view", timezone="UTC"))
    assert "ts '09 13, 2009' is not a timestamp" in str(refused.value)
    assert "--date-format" in (refused.value.hint or "")
    done = ingest_file(
        ws,
        path,
        options(mapping=mapping, event_type="view", timezone="UTC", date_format="%m %d, %Y"),
    )
    assert done.rows_loaded == 2


def test_days_without_a_year_need_the_year_and_then_load(tmp_path: Path) -> None:
    """Tmall's user log writes days as ``mmdd`` (``1111`` is 11 November, ``0523`` keeps its
    zero). A pattern without a year would put every day in 1900, so it is refused until
    ``--year`` names the year; then every row loads on its day, 29 February included."""
    path = tmp_path / "user_log.csv"
    path.write_text(
        "user_id,item_id,time_stamp,action_type\n"
        "1,10,1111,2\n2,11,0523,0\n3,12,0229,0\n4,13,1301,0\n"
    )
    ws = Workspace(tmp_path / "ws")
    tmall = {
        "mapping": {"ts": "time_stamp", "event_type": "action_type"},
        "event_map": {"0": "view", "2": "purchase"},
        "timezone": "UTC",
    }
    with pytest.raises(IngestError, match="has no year") as refused:
        ingest_file(ws, path, options(**tmall, date_format="%m%d"))
    assert "--year" in (refused.value.hint or "")
    with pytest.raises(IngestError, match="without a year"):
        ingest_file(ws, path, options(**tmall, date_format="%Y%m%d", year=2016))
    report = ingest_file(ws, path, options(**tmall, date_format="%m%d", year=2016))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 1)  # month 13 is no day
    assert _days(ws) == ["2016-02-29 00:00", "2016-05-23 00:00", "2016-11-11 00:00"]
    assert any("in the year 2016" in w for w in report.warnings)
    # through the CLI: the option exists and is checked before anything is written
    cli = run_cli(
        "--workspace", str(tmp_path / "ws2"), "ingest", str(path), "--format", "generic",
        "--map", "ts=time_stamp", "--date-format", "%m%d", "--event-type", "view",
        "--timezone", "UTC", "--json",
    )  # fmt: skip
    assert cli.returncode != 0 and "--year" in cli.stdout + cli.stderr
    assert not (tmp_path / "ws2" / "shopmind.duckdb").exists()


def test_days_without_a_year_in_number_columns_and_without_their_zero(tmp_path: Path) -> None:
    """The same log as Parquet (an integer column: 1111, 829) or as text written without
    the leading zero (829 for 29 August): read as month and day, never as epoch seconds
    (every row had loaded in 1970 without a word)."""
    import pandas as pd

    frame = pd.DataFrame(
        {"user_id": ["1", "2", "3"], "item_id": ["a", "b", "c"], "time_stamp": [1111, 829, 101]}
    )
    path = tmp_path / "user_log.parquet"
    frame.to_parquet(path, index=False)
    text = tmp_path / "user_log.csv"
    frame.assign(time_stamp=frame["time_stamp"].astype(str)).to_csv(text, index=False)
    for source in (path, text):
        ws = Workspace(tmp_path / f"ws-{source.suffix[1:]}")
        tmall = {"mapping": {"ts": "time_stamp"}, "event_type": "view", "timezone": "UTC"}
        report = ingest_file(ws, source, options(**tmall, date_format="%m%d", year=2015))
        assert (report.rows_loaded, report.rows_quarantined) == (3, 0), source
        assert _days(ws) == ["2015-01-01 00:00", "2015-08-29 00:00", "2015-11-11 00:00"]


def test_day_numbers_count_from_the_day_one_given(tmp_path: Path) -> None:
    """Dunnhumby's ``DAY`` (1 .. 711) is a day number, sniffed as an integer: read as epoch
    seconds it fell in 1970 and every row was refused. ``--date-format days --day-one D``
    puts day 1 on D, midnight in the shop's zone; the numbers alone are refused with the fix."""
    path = tmp_path / "transaction_data.csv"
    path.write_text(
        "household_key,BASKET_ID,DAY,PRODUCT_ID,QUANTITY,SALES_VALUE\n"
        "2375,26984851472,1,1004906,1,1.39\n"
        "2375,26984851472,1,1033142,2,1.64\n"
        "1364,26984896261,711,842930,1,2.19\n"
        "1364,26984896262,x,842930,1,2.19\n"
        "1364,26984896263,12.5,842930,1,2.19\n"
    )
    ws = Workspace(tmp_path / "ws")
    mapping = {
        "user_id": "household_key",
        "order_id": "BASKET_ID",
        "item_id": "PRODUCT_ID",
        "quantity": "QUANTITY",
        "line_total": "SALES_VALUE",
        "ts": "DAY",
    }
    basket = {"mapping": mapping, "event_type": "purchase", "timezone": "America/Chicago"}
    with pytest.raises(IngestError) as refused:
        ingest_file(ws, path, options(**basket))
    assert "--date-format days --day-one" in (refused.value.hint or "")
    with pytest.raises(IngestError, match="needs the date of day 1"):
        ingest_file(ws, path, options(**basket, date_format="days"))
    with pytest.raises(IngestError, match="--day-one is for"):
        ingest_file(ws, path, options(**basket, day_one="2012-01-01"))
    with pytest.raises(IngestError, match="not a calendar date"):
        ingest_file(ws, path, options(**basket, date_format="days", day_one="2012-02-30"))
    report = ingest_file(ws, path, options(**basket, date_format="days", day_one="2012-01-01"))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)  # x and 12.5 are no days
    days = query(
        ws,
        "SELECT strftime(ts AT TIME ZONE 'America/Chicago', '%Y-%m-%d %H:%M'), quantity, price "
        "FROM events ORDER BY ts, price",
    )
    assert days == [
        ("2012-01-01 00:00", 2.0, 0.82),  # the line total 1.64 over 2 units
        ("2012-01-01 00:00", 1.0, 1.39),
        ("2013-12-11 00:00", 1.0, 2.19),  # day 711
    ]
    assert any("day 1 = 2012-01-01" in w for w in report.warnings)
