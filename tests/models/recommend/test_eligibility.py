"""Non-product lines: recognised by the format, editable by the user, never recommended."""

from __future__ import annotations

from pathlib import Path

from shopmind.features.eligibility import eligibility_table, excluded_items
from shopmind.features.sequences import load_sequences
from shopmind.store import Workspace
from tests.analytics.small_retail import small_retail
from tests.conftest import run_cli


def _vocabulary(ws: Workspace) -> set[str]:
    with ws.connect(read_only=True) as con:
        return {str(i) for i in load_sequences(con).item_ids}


def test_format_marks_postage_and_user_list_overrides(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    with ws.connect(read_only=True) as con:
        assert excluded_items(con) == {"POST": "postage"}
    assert _vocabulary(ws) == {"22423", "85123A"}  # POST is not an item any model sees
    root = str(ws.root)
    assert run_cli("--workspace", root, "items", "include", "POST").returncode == 0
    out = run_cli("--workspace", root, "items", "exclude", "85123A", "--reason", "discontinued")
    assert out.returncode == 0, out.stderr
    assert _vocabulary(ws) == {"22423", "POST"}
    listed = run_cli("--workspace", root, "items", "list", "--json").json()["items"]
    assert listed[0] == {
        "item_id": "85123A",
        "eligible": False,
        "reason": "discontinued",
        "source": "user",
    }
    with ws.connect(read_only=True) as con:
        rows = eligibility_table(con)
    assert {(r["item_id"], r["eligible"], r["source"]) for r in rows} == {
        ("85123A", False, "user"),
        ("POST", True, "user"),
    }


def test_reingest_does_not_duplicate_format_rows(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    path = tmp_path / "more.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536009,POST,POSTAGE,1,2024-01-16 10:00:00,3.0,1,United Kingdom\n"
        "536009,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2024-01-16 10:00:00,"
        "17.0,1,United Kingdom\n"
    )
    run = run_cli("--workspace", str(ws.root), "ingest", str(path), "--format", "online_retail")
    assert run.returncode == 0, run.stderr
    with ws.connect(read_only=True) as con:
        assert excluded_items(con) == {"POST": "postage", "gift_0001_20": "gift voucher"}
        assert con.execute("SELECT count(*) FROM item_eligibility").fetchall() == [(2,)]


def test_batch_counts_the_customers_it_has_no_list_for(tmp_path: Path) -> None:
    """A customer who bought only postage is no key of the model: the batch says how many
    users get no list instead of leaving them out without a word (Online Retail: 4)."""
    ws = small_retail(tmp_path)
    path = tmp_path / "postage_only.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536010,POST,POSTAGE,1,2024-01-16 10:00:00,3.0,3,United Kingdom\n"
        "536011,85123A,LAMP,1,2024-01-16 11:00:00,20.0,1,United Kingdom\n"
        "536011,21212,CAKE CASES,1,2024-01-16 11:00:00,0.5,1,United Kingdom\n"
        "536012,22423,MUG,1,2024-01-16 12:00:00,5.0,2,United Kingdom\n"
        "536012,21212,CAKE CASES,1,2024-01-16 12:00:00,0.5,2,United Kingdom\n"
    )
    root = str(ws.root)
    loaded = run_cli("--workspace", root, "ingest", str(path), "--format", "online_retail",
                     "--pseudonymize", "off")  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    trained = run_cli("--workspace", root, "recommend", "train", "--model", "popularity")
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "recs.csv"
    batch = run_cli("--workspace", root, "recommend", "batch", "--out", str(out), "--json")
    assert batch.returncode == 0, batch.stderr
    report = batch.json()
    assert (report["users"], report["users_without_list"]) == (2, 1)
    said = run_cli("--workspace", root, "recommend", "batch", "--out", str(out))
    assert "1 other users have no item the model learnt from" in said.stdout
