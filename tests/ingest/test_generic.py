"""Generic files: canonical names or --map, all file kinds, merge and append dispositions."""

from __future__ import annotations

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
    orders = _csv(
        tmp_path / "orders.csv",
        [
            {
                "order_id": "o9",
                "user_id": "a",
                "ts": "2024-02-02T10:00:00Z",
                "amount": "12",
                "ip_address": "10.0.0.7",
            }
        ],
    )
    ingest_file(ws, items, options(table="items"))
    ingest_file(ws, orders, options(table="orders"))
    assert query(ws, "SELECT title_zh, price, attributes->>'color' FROM items") == [
        ("茶", 3.5, "green")
    ]
    attrs = scalar(ws, "SELECT attributes::VARCHAR FROM orders")
    assert "10.0.0.7" not in attrs and "ip_address_hash" in attrs
    assert scalar(ws, "SELECT user_id FROM orders").startswith("u_")


def test_unknown_table_is_a_clear_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "x.csv", ROWS)
    with pytest.raises(IngestError, match="--table"):
        ingest_file(Workspace(tmp_path / "ws"), path, options(table="nonsense"))
