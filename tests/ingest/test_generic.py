"""Generic files: canonical names or --map, all file kinds, merge and append dispositions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from shopmind.errors import IngestError, MissingColumnError
from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import options, query, scalar

ROWS = [
    {"user_id": "a", "item_id": "x", "event_type": "view", "ts": "2024-03-31T00:30:00+01:00"},
    {"user_id": "a", "item_id": "x", "event_type": "add_to_cart", "ts": "2024-03-31T01:00:00Z"},
    {
        "user_id": "b",
        "item_id": "y",
        "event_type": "purchase",
        "ts": "2024-03-31T02:00:00Z",
        "order_id": "o1",
        "quantity": "2",
        "price": "5.5",
    },
]


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
def test_every_file_kind_loads_the_same(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame(ROWS)
    path = tmp_path / f"events{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options(pseudonymize=False))
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (3, 3, 0)
    got = query(ws, "SELECT user_id, event_type, ts FROM events ORDER BY ts")
    assert got[0] == ("a", "view", datetime(2024, 3, 30, 23, 30, tzinfo=UTC))
    assert [r[1] for r in got] == ["view", "cart", "purchase"]
    assert query(ws, "SELECT order_id, user_id, amount, status FROM orders") == [
        ("o1", "b", 11.0, "completed")
    ]


def test_reloading_adds_nothing_and_overlaps_are_duplicates(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    first = _csv(tmp_path / "a.csv", ROWS[:2])
    ingest_file(ws, first, options())
    again = ingest_file(ws, first, options())
    assert again.already_ingested and again.rows_loaded == 0 and again.duplicates_skipped == 2
    overlap = _csv(tmp_path / "b.csv", ROWS)  # a new file repeating two known rows
    report = ingest_file(ws, overlap, options())
    assert (report.rows_loaded, report.duplicates_skipped) == (1, 2)
    assert scalar(ws, "SELECT count(*) FROM events") == 3


def test_a_key_repeated_in_one_file_keeps_the_right_row(tmp_path: Path) -> None:
    """Events keep the first row of a repeated key, dimensions the last (merge); the other
    rows of the file are all loaded, the repeats counted as duplicates."""
    ws = Workspace(tmp_path / "ws")
    rows = [
        {**ROWS[0], "event_id": "e1", "item_id": "first"},
        {**ROWS[1], "event_id": "e2"},
        {**ROWS[0], "event_id": "e1", "item_id": "second"},
        {**ROWS[0], "event_id": "e1", "item_id": "third"},
    ]
    report = ingest_file(ws, _csv(tmp_path / "e.csv", rows), options(pseudonymize=False))
    assert (report.rows_in, report.rows_loaded, report.duplicates_skipped) == (4, 2, 2)
    assert query(ws, "SELECT item_id FROM events ORDER BY ts") == [("first",), ("x",)]
    # a later file: a stored key repeated, and a new key repeated (its first row wins)
    later = [
        {**ROWS[0], "event_id": "e1", "item_id": "again"},
        {**ROWS[2], "event_id": "e3", "item_id": "one"},
        {**ROWS[2], "event_id": "e3", "item_id": "two"},
        {**ROWS[0], "event_id": "e1", "item_id": "and again"},
    ]
    report = ingest_file(ws, _csv(tmp_path / "e2.csv", later), options(pseudonymize=False))
    assert (report.rows_loaded, report.duplicates_skipped) == (1, 3)
    assert query(ws, "SELECT item_id FROM events WHERE event_id = 'e3'") == [("one",)]
    users = [
        {"user_id": "a", "country": "GB"},
        {"user_id": "b", "country": "FR"},
        {"user_id": "a", "country": "DE"},
    ]
    report = ingest_file(
        ws, _csv(tmp_path / "u.csv", users), options(table="users", pseudonymize=False)
    )
    assert (report.rows_loaded, report.duplicates_skipped) == (2, 1)
    assert query(
        ws, "SELECT user_id, country FROM users WHERE country IS NOT NULL ORDER BY user_id"
    ) == [("a", "DE"), ("b", "FR")]


def test_map_renames_source_columns(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("who,what,did,when\nu1,i1,pv,2024-01-01T00:00:00Z\n")
    ws = Workspace(tmp_path / "ws")
    mapping = {"user_id": "who", "item_id": "what", "event_type": "did", "ts": "when"}
    report = ingest_file(ws, path, options(mapping=mapping, pseudonymize=False))
    assert report.rows_loaded == 1
    assert query(ws, "SELECT user_id, item_id, event_type FROM events") == [("u1", "i1", "view")]


def test_missing_column_error_names_file_column_found_and_fix(tmp_path: Path) -> None:
    path = _csv(tmp_path / "nots.csv", [{"user_id": "a", "item_id": "x", "event_type": "view"}])
    with pytest.raises(MissingColumnError) as info:
        ingest_file(Workspace(tmp_path / "ws"), path, options())
    message = str(info.value)
    assert "'ts'" in message and "nots.csv" in message and "user_id" in message
    assert "--map ts=" in message


def test_users_merge_keeps_known_values_and_hashes_pii(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    one = _csv(
        tmp_path / "u1.csv", [{"user_id": "a", "country": "GB", "email": "a@x.org", "tier": "gold"}]
    )
    two = _csv(
        tmp_path / "u2.csv",
        [
            {"user_id": "a", "country": "", "age": "41"},
            {"user_id": "b", "country": "FR", "age": "20"},
        ],
    )
    # one row cannot show that 'tier' is a category: it is declared non-personal
    ingest_file(ws, one, options(table="users", pseudonymize=False, keep_attributes=("tier",)))
    report = ingest_file(ws, two, options(table="users", pseudonymize=False))
    assert report.rows_loaded == 2
    rows = query(
        ws,
        "SELECT user_id, country, age, attributes->>'tier', "
        "attributes->>'email_hash' FROM users ORDER BY user_id",
    )
    assert rows[0][:4] == ("a", "GB", 41, "gold")
    assert rows[0][4].startswith("h_") and "a@x.org" not in rows[0][4]
    assert rows[1][:3] == ("b", "FR", 20)


def test_pii_drop_policy_stores_nothing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    path = _csv(tmp_path / "u.csv", [{"user_id": "a", "phone": "+44 7700 900123"}])
    ingest_file(ws, path, options(table="users", pii_policy="drop"))
    assert (
        scalar(
            ws,
            "SELECT count(*) FROM users WHERE attributes IS NOT NULL "
            "AND attributes::VARCHAR LIKE '%phone%'",
        )
        == 0
    )


def test_items_and_orders_tables(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    items = _csv(
        tmp_path / "items.csv",
        [
            {
                "item_id": "x",
                "title": "Tea",
                "title_zh": "茶",
                "category": "food",
                "price": "3.5",
                "color": "green",
            }
        ],
    )
    orders_row = {
        "order_id": "o9",
        "user_id": "a",
        "ts": "2024-02-02T10:00:00Z",
        "amount": "12",
        "ip_address": "10.0.0.7",
    }
    orders = _csv(tmp_path / "orders.csv", [orders_row])
    ingest_file(ws, items, options(table="items"))
    ingest_file(ws, orders, options(table="orders"))
    assert query(ws, "SELECT title_zh, price, attributes->>'color' FROM items") == [
        ("茶", 3.5, "green")
    ]
    assert scalar(ws, "SELECT currency FROM orders") is None  # no column, no --currency
    ingest_file(
        ws,
        _csv(tmp_path / "o2.csv", [orders_row | {"order_id": "o10"}]),
        options(table="orders", currency="BRL"),
    )
    assert scalar(ws, "SELECT currency FROM orders WHERE order_id = 'o10'") == "BRL"
    attrs = scalar(ws, "SELECT attributes::VARCHAR FROM orders WHERE order_id = 'o9'")
    assert "10.0.0.7" not in attrs and "ip_address_hash" in attrs
    assert scalar(ws, "SELECT user_id FROM orders").startswith("u_")


def test_items_cut_from_events_keep_no_raw_person_ids(tmp_path: Path) -> None:
    """An items file made from an events export (REES46 layout) carries user and session
    ids: they are hashed, even when they look like small numbers, and product columns
    stay as they are."""
    ws = Workspace(tmp_path / "ws")
    rows = [
        {
            "product_id": f"p{i}",
            "brand": "acme",
            "price": "9.5",
            "colour": "red",
            "user_id": str(100 + i),
            "user_session": f"9f2c-{i}",
            "customer_unique_id": f"c{i:04d}",
            "cust_id": str(1000 + i),
            "customer_rating": str(i % 5),  # a product's rating: an attribute, kept
        }
        for i in range(30)
    ]
    path = _csv(tmp_path / "rees46.csv", rows)
    report = ingest_file(ws, path, options(table="items", mapping={"item_id": "product_id"}))
    assert set(report.pii_columns) >= {"user_id", "user_session", "customer_unique_id", "cust_id"}
    assert "customer_rating" not in report.pii_columns
    stored = [json.loads(r[0]) for r in query(ws, "SELECT attributes::VARCHAR FROM items")]
    kept = ("brand", "price", "colour", "customer_rating")
    raw = {v for row in rows for k, v in row.items() if k not in kept}
    assert not raw & {v for attrs in stored for v in attrs.values()}
    assert all({"user_id_hash", "user_session_hash"} <= set(attrs) for attrs in stored)
    assert query(ws, "SELECT DISTINCT attributes->>'colour' FROM items") == [("red",)]
    assert scalar(ws, "SELECT count(DISTINCT attributes->>'customer_rating') FROM items") == 5


def test_unknown_table_is_a_clear_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv", ROWS)
    with pytest.raises(IngestError, match="--table"):
        ingest_file(Workspace(tmp_path / "ws"), path, options(table="nonsense"))


@pytest.mark.parametrize(
    ("text", "delimiter", "header"),
    [
        ("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", "\t", False),  # MovieLens u.data
        ("1::1193::5::978300760\n1::661::3::978302109\n", "::", False),  # MovieLens-1M
        ("2,2014-05-25T05:01:26.237Z,214591569,0\n2,2014-05-25T05:08:00.725Z,214,S\n", ",", False),
        ("user_id,item_id,ts\n1,2,2024-01-01\n3,4,2024-01-02\n", ",", True),
        ("user,item,view\nu2,i3,view\n", ",", False),  # 'view' recurs below: data
        ("user,item,event\nu2,i3,view\n", ",", True),  # names that never recur: a header
        ("sku,2023,2024\nA1,10,20\nA2,11,21\n", ",", True),  # years as column names
        ("u1,i1,view,2024-01-01\nu1,i2,cart,2024-01-02\n", ",", False),  # 'u1' recurs
        ("196\t242\t3\t881250949\n", "\t", False),  # one line of numbers: data
        ("user_id,item_id\n", ",", True),  # a header alone
    ],
)
def test_header_line_is_sniffed(tmp_path: Path, text: str, delimiter: str, header: bool) -> None:
    from shopmind.ingest.extract import guess_delimiter, sniff_header

    path = tmp_path / "f.csv"
    path.write_text(text)
    assert guess_delimiter(path) == delimiter
    assert sniff_header(path, delimiter) is header


def test_headerless_files_load_every_line(tmp_path: Path) -> None:
    """MovieLens u.data and ratings.dat load without a header line; a headerless clicks log
    (YOOCHOOSE layout, no event column) loads with --map columnN and --event-type, and
    without them the error says how."""
    udata = tmp_path / "u.data"
    udata.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n")
    dat = tmp_path / "ratings.dat"
    dat.write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1357::5::978298709\n")
    for path in (udata, dat):
        ws = Workspace(tmp_path / f"ws_{path.suffix[1:]}")
        report = ingest_file(ws, path, options("movielens"))
        assert (report.rows_in, report.rows_loaded) == (3, 3)
        assert scalar(ws, "SELECT count(DISTINCT item_id) FROM events") == 3
    clicks = tmp_path / "yoochoose-clicks.dat"
    clicks.write_text(
        "1,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-04-07T10:54:09.868Z,214536500,0\n"
        "2,2014-04-07T13:56:37.614Z,214662742,S\n"
    )
    ws = Workspace(tmp_path / "ws_clicks")
    with pytest.raises(MissingColumnError) as missing:
        ingest_file(ws, clicks, options())
    assert "column0" in missing.value.hint and "--event-type" in missing.value.hint
    mapping = {"session_id": "column0", "ts": "column1", "item_id": "column2"}
    report = ingest_file(ws, clicks, options(mapping=mapping, event_type="view"))
    assert (report.rows_in, report.rows_loaded) == (3, 3)
    assert "column3" not in report.pii_columns  # events keep canonical fields only
    assert any(w.startswith("not stored: column column3") for w in report.warnings)
    assert query(ws, "SELECT DISTINCT event_type FROM events") == [("view",)]
    assert scalar(ws, "SELECT count(DISTINCT session_id) FROM events") == 2


@pytest.mark.parametrize("fmt", ["sessions", "sequences"])
def test_item_lines_refuse_delimited_records(tmp_path: Path, fmt: str) -> None:
    """A CSV record given to a line format is quarantined with the reason, not loaded as one
    item named after the whole line; a file of them is refused."""
    path = tmp_path / "s.txt"
    path.write_text("u1 a b c\ntimestamp,visitorid,event,itemid\n")
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options(fmt))
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert any("delimited record" in reason for reason in report.quarantine_reasons)
    assert scalar(ws, "SELECT count(*) FROM events WHERE item_id LIKE '%,%'") == 0
    csv_only = tmp_path / "rr.csv"
    csv_only.write_text("timestamp,visitorid,event,itemid\n1433221332117,257597,view,355908\n")
    with pytest.raises(IngestError, match="delimited record"):
        ingest_file(Workspace(tmp_path / "ws2"), csv_only, options(fmt))


def test_rows_differing_only_in_an_unmapped_column_are_two_events(tmp_path: Path) -> None:
    """Olist lists two units of one product as two order lines (order_item_id 1 and 2):
    both are loaded and counted in revenue; an exact repeat of a whole row is a duplicate."""
    line = {
        "customer_unique_id": "c1",
        "order_id": "o1",
        "product_id": "p1",
        "event_type": "purchase",
        "order_purchase_timestamp": "2018-01-02 10:00:00",
        "price": "19.9",
    }
    rows = [line | {"order_item_id": "1"}, line | {"order_item_id": "2"}]
    rows.append(rows[1])  # the same record twice
    path = _csv(tmp_path / "olist.csv", rows)
    mapping = {"user_id": "customer_unique_id", "item_id": "product_id"}
    mapping |= {"ts": "order_purchase_timestamp"}
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options(mapping=mapping, timezone="America/Sao_Paulo"))
    assert (report.rows_in, report.rows_loaded, report.duplicates_skipped) == (3, 2, 1)
    assert scalar(ws, "SELECT sum(price) FROM events") == pytest.approx(39.8)


def test_a_changing_unmapped_column_does_not_defeat_duplicate_detection(tmp_path: Path) -> None:
    """Overlapping exports with a row number (or an export time) that differs: the shared
    events are still duplicates; only rows of one content key that differ elsewhere in the
    same file are told apart."""
    base = [
        {"user_id": "a", "event_type": "view", "item_id": "x", "ts": "2024-03-01T10:00:00Z"},
        {"user_id": "a", "event_type": "view", "item_id": "y", "ts": "2024-03-01T10:01:00Z"},
        {"user_id": "b", "event_type": "view", "item_id": "z", "ts": "2024-03-01T10:02:00Z"},
    ]
    first = _csv(tmp_path / "a.csv", [r | {"row": str(i)} for i, r in enumerate(base[:2])])
    second = _csv(tmp_path / "b.csv", [r | {"row": str(i + 10)} for i, r in enumerate(base)])
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, first, options())
    report = ingest_file(ws, second, options())
    assert (report.rows_loaded, report.duplicates_skipped) == (1, 2)
    assert scalar(ws, "SELECT count(*) FROM events") == 3


def test_a_corrected_map_reloads_a_merged_table_but_never_appends_events_twice(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / "ws")
    items = _csv(
        tmp_path / "items.csv",
        [{"product_id": f"p{i}", "category_code": "electronics.phone"} for i in range(3)],
    )
    first = ingest_file(ws, items, options(table="items", mapping={"item_id": "product_id"}))
    assert first.rows_loaded == 3
    assert scalar(ws, "SELECT count(category) FROM items") == 0
    fixed = {"item_id": "product_id", "category": "category_code"}
    again = ingest_file(ws, items, options(table="items", mapping=fixed))
    assert not again.already_ingested
    assert scalar(ws, "SELECT count(*) FROM items WHERE category = 'electronics.phone'") == 3
    assert scalar(ws, "SELECT count(*) FROM items") == 3
    events = _csv(tmp_path / "events.csv", ROWS)
    ingest_file(ws, events, options())
    remapped = ingest_file(ws, events, options(mapping={"source": "order_id"}))
    assert remapped.already_ingested and "count them twice" in remapped.warnings[0]
    assert scalar(ws, "SELECT count(*) FROM events") == len(ROWS)


def test_offsets_after_a_blank_and_latin1_rows(tmp_path: Path) -> None:
    """Shopify-style '2024-01-05 14:22:00 +0100' is an instant with its offset; a file whose
    only non-ASCII byte is a Windows-1252 'é' is read in that encoding, and said so."""
    path = tmp_path / "shop.csv"
    path.write_bytes(
        b"user_id,item_id,event_type,ts\n"
        b"a,x,view,2024-01-05 14:22:00 +0100\n"
        b"b,y,view,2024-01-05 14:22:00 -05:00\n"
        b"c,caf\xe9,view,2024-01-05 14:22:00 +0000\n"
    )
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options())
    assert (report.rows_loaded, report.rows_quarantined) == (3, 0)
    hours = query(ws, "SELECT hour(ts AT TIME ZONE 'UTC') AS h FROM events ORDER BY h")
    assert hours == [(13,), (14,), (19,)]
    assert query(ws, "SELECT item_id FROM events WHERE item_id LIKE 'caf%'") == [("café",)]
    assert any("read as cp1252" in w for w in report.warnings)


def test_html_entities_in_titles_are_decoded(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    items = _csv(
        tmp_path / "items.csv",
        [
            {"item_id": "x", "title": "Salt &amp; Pepper &quot;Mill&quot; &#39;n&#39; more"},
            {"item_id": "y", "title": "AT&T &amp;lt;cable&gt;"},
        ],
    )
    ingest_file(ws, items, options(table="items"))
    assert query(ws, "SELECT item_id, title FROM items ORDER BY 1") == [
        ("x", "Salt & Pepper \"Mill\" 'n' more"),
        ("y", "AT&T &lt;cable>"),
    ]


def test_an_integer_id_written_as_a_float_is_one_id(tmp_path: Path) -> None:
    """JD's ``user_id`` 266079.0 in events and 266079 in the users file: one person (one
    pseudonym), so joins, ``forget`` and ``export-user`` find all of their rows."""
    ws = Workspace(tmp_path / "ws")
    events = pd.DataFrame(
        {
            "user_id": [266079.0, None, 12.0],
            "item_id": ["7.0", "8", "9.5"],
            "event_type": "view",
            "ts": "2024-03-01T10:00:00Z",
        }
    )
    events.to_parquet(tmp_path / "ev.parquet")
    _csv(
        tmp_path / "ev.csv",
        [
            {
                "user_id": "266079.0",
                "item_id": "7",
                "event_type": "cart",
                "ts": "2024-03-01T11:00:00Z",
            }
        ],
    )
    users = _csv(tmp_path / "users.csv", [{"user_id": "266079", "country": "CN"}])
    ingest_file(ws, tmp_path / "ev.parquet", options())
    ingest_file(ws, tmp_path / "ev.csv", options())
    ingest_file(ws, users, options(table="users"))
    assert query(ws, "SELECT DISTINCT item_id FROM events ORDER BY 1") == [("7",), ("9.5",)]
    assert scalar(ws, "SELECT count(DISTINCT user_id) FROM events") == 2
    joined = "SELECT count(*) FROM events e JOIN users u USING (user_id) WHERE u.country = 'CN'"
    assert scalar(ws, joined) == 2


def test_a_reload_with_another_timezone_says_it_was_not_applied(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    path = _csv(tmp_path / "ev.csv", [ROWS[0] | {"ts": "2024-03-31 00:30:00"}])
    ingest_file(ws, path, options(timezone="UTC"))
    again = ingest_file(ws, path, options(timezone="Asia/Taipei"))
    assert again.already_ingested and again.rows_loaded == 0
    assert "Not applied: --timezone Asia/Taipei (it was loaded with UTC)" in again.warnings[0]
    same = ingest_file(ws, path, options(timezone="UTC"))
    assert "Not applied" not in same.warnings[0]


def test_age_bands_are_kept_as_an_attribute(tmp_path: Path) -> None:
    """JD's users file writes ages as bands ('26-35岁'): kept as ``age_band``, not refused."""
    ws = Workspace(tmp_path / "ws")
    users = _csv(
        tmp_path / "users.csv",
        [
            {"user_id": "1", "age": "26-35岁"},
            {"user_id": "2", "age": "41"},
            {"user_id": "3", "age": "NA"},
            {"user_id": "4", "age": "250"},
            {"user_id": "5", "age": "alice@example.com"},  # no band: never stored as one
        ],
    )
    report = ingest_file(ws, users, options(table="users"))
    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)  # 250 is out of range
    assert "neither a number nor an age band" in " ".join(report.quarantine_reasons)
    rows = query(ws, "SELECT age, attributes->>'age_band' FROM users ORDER BY age NULLS FIRST")
    assert sorted(rows, key=str) == sorted([(None, "26-35岁"), (None, None), (41, None)], key=str)


def test_a_workspace_with_earlier_generic_loads_keeps_reading_ids_as_written(
    tmp_path: Path,
) -> None:
    """Migration 14: a workspace that already held generic loads (ids and event keys built
    from ``7.0``) keeps that reading, so an overlapping export is not loaded twice."""
    from shopmind.store import migrate

    first = _csv(tmp_path / "a.csv", [ROWS[0] | {"item_id": "7.0"}])
    overlap = _csv(tmp_path / "b.csv", [ROWS[0] | {"item_id": "7.0"}, ROWS[1] | {"item_id": "8.0"}])
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, first, options())
    with ws.connect() as con:  # as if the first load had been made before migration 14
        con.execute("DROP TABLE workspace_settings")
        con.execute("DELETE FROM schema_migrations WHERE version = 14")
        migrate(con)
        assert con.execute("SELECT value FROM workspace_settings").fetchone() == ("false",)

    legacy = Workspace(tmp_path / "legacy")  # a 0.9.2 workspace: ids read as written
    legacy.init()
    with legacy.connect() as con:
        con.execute("UPDATE workspace_settings SET value = 'false'")
    ingest_file(legacy, first, options())
    report = ingest_file(legacy, overlap, options())
    assert (report.rows_loaded, report.duplicates_skipped) == (1, 1)
    assert query(legacy, "SELECT item_id FROM events ORDER BY 1") == [("7.0",), ("8.0",)]
    fresh = Workspace(tmp_path / "fresh")
    ingest_file(fresh, overlap, options())
    assert query(fresh, "SELECT item_id FROM events ORDER BY 1") == [("7",), ("8",)]
