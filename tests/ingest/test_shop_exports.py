"""Order exports of shop systems (Shopify, WooCommerce, Superstore-like sheets) and web
analytics exports (GA4), as a new user loads them: found by a probe on those layouts."""

from __future__ import annotations

import json
from pathlib import Path

from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import options, query, run_cli, scalar

SHOPIFY = (
    "Name,Email,Financial Status,Paid at,Total,Currency,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Street,Billing Address1,"
    "Billing Zip,Billing City,Shipping Address1,Id\n"
    "#1001,jane@example.com,paid,2024-01-07 21:58:00 +0100,44.70,EUR,"
    "2024-01-07 21:57:50 +0100,1,Socks,9.90,SOCKS-3PK,Jane Doe,Hauptstrasse 5,"
    "Hauptstrasse 5,10115,Berlin,Hauptstrasse 5,5400000001001\n"
    "#1001,jane@example.com,,,,,2024-01-07 21:57:50 +0100,1,Blue T-Shirt,29.90,TSHIRT-M,"
    ",,,,,,\n"
    "#1002,max@example.com,refunded,2024-01-08 10:00:00 +0100,19.90,EUR,"
    "2024-01-08 09:59:00 +0100,1,Cap,19.90,CAP-1,Max Muster,Lindenweg 2,Lindenweg 2,80331,"
    "Munich,Lindenweg 2,5400000001002\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shopify_orders_keep_one_row_per_order_and_no_address(tmp_path: Path) -> None:
    path = _write(tmp_path, "orders_export_1.csv", SHOPIFY)
    ws = Workspace(tmp_path / "ws")
    mapping = {
        "order_id": "Name",
        "user_id": "Email",
        "ts": "Created at",
        "amount": "Total",
        "status": "Financial Status",
        "currency": "Currency",
    }
    report = ingest_file(ws, path, options(table="orders", mapping=mapping))
    assert (report.rows_loaded, report.duplicates_skipped) == (2, 1)
    # the order total sits on the first line only: taken once, the status kept
    assert query(ws, "SELECT order_id, amount, status FROM orders ORDER BY order_id") == [
        ("#1001", 44.70, "paid"),
        ("#1002", 19.90, "refunded"),
    ]
    assert any("2 rows are lines of 1 order with" in w for w in report.warnings)
    # street, address lines and names are hashed (a postcode stays, as the city does); dates
    # stay readable
    stored = scalar(ws, "SELECT string_agg(CAST(attributes AS VARCHAR), ' ') FROM orders")
    for secret in ("Hauptstrasse", "Lindenweg", "Jane Doe", "Max Muster"):
        assert secret not in stored
    assert "2024-01-07 21:58:00 +0100" in stored  # 'Paid at' is a time, not personal


def test_line_amounts_are_summed_and_repeated_totals_taken_once(tmp_path: Path) -> None:
    lines = "order_id,user_id,ts,amount\n"
    sheet = lines + "A1,u1,2024-01-01T10:00:00Z,10.00\nA1,u1,2024-01-01T10:00:00Z,5.50\n"
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, _write(tmp_path, "lines.csv", sheet), options(table="orders"))
    assert scalar(ws, "SELECT amount FROM orders") == 15.5
    woo = lines + "W1,u1,2024-01-01T10:00:00Z,45.00\nW1,u1,2024-01-01T10:00:00Z,45.00\n"
    ws2 = Workspace(tmp_path / "ws2")
    report = ingest_file(ws2, _write(tmp_path, "woo.csv", woo), options(table="orders"))
    assert scalar(ws2, "SELECT amount FROM orders") == 45.0
    assert any("taken once" in w for w in report.warnings)


def test_an_order_id_column_named_id_and_a_line_number_are_not_guessed(tmp_path: Path) -> None:
    """Shopify's ``Id`` (the order's id, on its first line only) is no event id, and
    WooCommerce's ``Item #`` (the line number) is no item id: ``SKU`` is."""
    text = (
        "Id,Customer Email,Order Date,Item #,SKU,Quantity,event_type\n"
        "77,bob@example.com,2024-01-06T15:00:00Z,1,WOO-HOODIE,1,purchase\n"
        ",bob@example.com,2024-01-06T15:00:00Z,2,WOO-CAP,2,purchase\n"
    )
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(
        ws,
        _write(tmp_path, "woo.csv", text),
        options(mapping={"user_id": "Customer Email", "ts": "Order Date"}),
    )
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0), report.quarantine_reasons
    assert query(ws, "SELECT item_id FROM events ORDER BY item_id") == [
        ("WOO-CAP",),
        ("WOO-HOODIE",),
    ]


def test_ga4_times_and_event_names(tmp_path: Path) -> None:
    """GA4 writes ``event_timestamp`` in microseconds and ``event_date`` as YYYYMMDD; its
    ``view_item`` is a view, and a started checkout is not a purchase."""
    text = (
        "user_pseudo_id,item_id,event_name,event_timestamp\n"
        "p1,i1,view_item,1612051200123456\n"
        "p1,i1,add_to_cart,1612051260000000\n"
        "p1,i1,begin_checkout,1612051320000000\n"
    )
    ws = Workspace(tmp_path / "ws")
    mapping = {"user_id": "user_pseudo_id", "event_type": "event_name", "ts": "event_timestamp"}
    report = ingest_file(ws, _write(tmp_path, "ga4.csv", text), options(mapping=mapping))
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert query(ws, "SELECT event_type, epoch_us(ts) FROM events ORDER BY ts") == [
        ("view", 1612051200123456),
        ("cart", 1612051260000000),
    ]
    daily = "user_id,item_id,event_type,event_date\nu1,i1,view,20210131\n"
    ws2 = Workspace(tmp_path / "ws2")
    ingest_file(
        ws2,
        _write(tmp_path, "daily.csv", daily),
        options(mapping={"ts": "event_date"}, timezone="UTC"),
    )
    assert scalar(ws2, "SELECT strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM events") == (
        "2021-01-31 00:00"
    )


def test_latin1_text_in_two_fields_is_read_not_crashed(tmp_path: Path) -> None:
    """Invalid UTF-8 in two fields of a line crashed DuckDB's strict reader (a fatal error
    that closes the database); Windows-1252 files are now read as such before that reader,
    and double-byte text takes the exact path to the quarantine."""
    path = tmp_path / "books.csv"
    path.write_bytes(b"id,title,author\n1,Caf\xe9,Andr\xe9 Gide\n2,Plain,Someone\n")
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(
        ws, path, options(table="items", mapping={"item_id": "id", "title": "title"})
    )
    assert report.rows_loaded == 2
    assert scalar(ws, "SELECT title FROM items WHERE item_id = '1'") == "Café"
    chinese = tmp_path / "zh.csv"
    chinese.write_bytes(
        b"id,title,author\n1," + "连衣裙".encode("gbk") + b"," + "张三".encode("gbk") + b"\n"
        b"2,Plain,Someone\n"
    )
    ws2 = Workspace(tmp_path / "ws2")
    report = ingest_file(
        ws2, chinese, options(table="items", mapping={"item_id": "id", "title": "title"})
    )
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert json.loads(scalar(ws2, "SELECT options FROM ingestions"))["encoding"] is None


def test_a_line_total_gives_the_unit_price(tmp_path: Path) -> None:
    """Superstore's ``Sales`` is quantity x price: mapped as ``line_total`` the unit price is
    derived, so revenue is not multiplied by the quantity a second time."""
    text = (
        "Order ID,Order Date,Customer ID,Product ID,Sales,Quantity\n"
        "CA-1,2016-11-08,C1,P1,261.96,2\nCA-1,2016-11-08,C1,P2,731.94,3\n"
    )
    ws = Workspace(tmp_path / "ws")
    mapping = {
        "user_id": "Customer ID",
        "ts": "Order Date",
        "order_id": "Order ID",
        "item_id": "Product ID",
        "line_total": "Sales",
    }
    ingest_file(
        ws,
        _write(tmp_path, "superstore.csv", text),
        options(mapping=mapping, event_type="purchase", timezone="UTC", currency="USD"),
    )
    # the orders the purchases make up carry the load's currency
    assert query(ws, "SELECT order_id, currency FROM orders") == [("CA-1", "USD")]
    assert query(ws, "SELECT item_id, round(price, 6) FROM events ORDER BY item_id") == [
        ("P1", 130.98),
        ("P2", 243.98),
    ]
    assert scalar(ws, "SELECT round(sum(quantity * price), 2) FROM events") == 993.9


def test_a_line_total_with_decimal_commas_is_read_with_decimal_comma(tmp_path: Path) -> None:
    """``--decimal ,`` reads a line total as it reads prices: "12,50" is 12.5 (it was
    quarantined as an ambiguous decimal comma although the option was given)."""
    text = "user;item;ts;total;qty\nC1;P1;2016-11-08;12,50;2\nC1;P2;2016-11-08;1.234,50;1\n"
    ws = Workspace(tmp_path / "ws")
    mapping = {"user_id": "user", "item_id": "item", "line_total": "total", "quantity": "qty"}
    report = ingest_file(
        ws,
        _write(tmp_path, "totals.csv", text),
        options(mapping=mapping, event_type="purchase", timezone="UTC", decimal=","),
    )
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    assert query(ws, "SELECT item_id, round(price, 6) FROM events ORDER BY item_id") == [
        ("P1", 6.25),
        ("P2", 1234.5),
    ]


def test_numbered_headers_map_by_their_words(tmp_path: Path) -> None:
    text = "Customer #,Product,Event,Timestamp,Invoice #\nC1,P1,purchase,2024-01-01T10:00:00Z,9\n"
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, _write(tmp_path, "numbered.csv", text), options())
    assert report.rows_loaded == 1
    assert query(ws, "SELECT item_id, order_id FROM events") == [("P1", "9")]


def test_a_status_history_ends_with_the_current_status(tmp_path: Path) -> None:
    text = (
        "order_id,user_id,ts,amount,status\n"
        "o1,u1,2024-01-01T10:00:00Z,20.00,pending\n"
        "o1,u1,2024-01-02T10:00:00Z,20.00,shipped\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, _write(tmp_path, "history.csv", text), options(table="orders"))
    assert query(ws, "SELECT status, amount, ts < TIMESTAMPTZ '2024-01-02' FROM orders") == [
        ("shipped", 20.0, True)
    ]


def test_event_map_loads_a_shops_own_event_names_and_recovers_the_quarantine(
    tmp_path: Path,
) -> None:
    """``--event-map begin_checkout=cart``: loading the file again with the map loads the
    rows its first load quarantined as of an unknown type, and only those."""
    text = (
        "user_pseudo_id,item_id,event_name,event_timestamp\n"
        "p1,i1,view_item,1612051200123456\n"
        "p1,i1,begin_checkout,1612051320000000\n"
        "p2,i2,Begin_Checkout,1612051380000000\n"
        "p1,i1,purchase,1612051440000000\n"
    )
    path = _write(tmp_path, "ga4.csv", text)
    ws = tmp_path / "ws"
    args = ("--workspace", str(ws), "ingest", str(path))
    args += ("--map", "user_id=user_pseudo_id", "--map", "event_type=event_name")
    args += ("--map", "ts=event_timestamp", "--json")
    first = run_cli(*args).json()
    assert (first["rows_loaded"], first["rows_quarantined"]) == (2, 2)
    hint = "--event-map begin_checkout=TYPE"
    assert all(hint in reason for reason in first["quarantine_reasons"])

    again = run_cli(*args, "--event-map", "BEGIN_CHECKOUT=cart")
    assert again.returncode == 0, again.stderr
    second = again.json()
    assert (second["rows_in"], second["rows_loaded"], second["duplicates_skipped"]) == (4, 2, 2)
    assert second["rows_quarantined"] == 0
    workspace = Workspace(ws)
    assert scalar(workspace, "SELECT count(*) FROM quarantine") == 0
    assert query(workspace, "SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        ("cart", 2),
        ("purchase", 1),
        ("view", 1),
    ]
    # the first command again (no map): the file is loaded, nothing to do
    assert run_cli(*args).json()["already_ingested"]
    # another --timezone on a re-read would give the rows loaded before new keys: refused
    shifted = run_cli(*args, "--event-map", "begin_checkout=cart", "--event-map", "x=view",
                      "--timezone", "Asia/Shanghai")  # fmt: skip
    assert shifted.returncode != 0 and "a second time" in shifted.stderr
    # changing the type of events already loaded would store them twice: refused, no change
    changed = run_cli(*args, "--event-map", "begin_checkout=favorite")
    assert changed.returncode != 0 and "begin_checkout (cart -> favorite)" in changed.stderr
    unknown = run_cli(*args, "--event-map", "begin_checkout=checkout")
    assert unknown.returncode != 0 and "SOURCE=TYPE" in unknown.stderr
    assert scalar(workspace, "SELECT count(*) FROM events") == 4
    refused = run_cli(
        "--workspace", str(ws), "ingest", str(path), "--table", "items", "--event-map", "a=view"
    )
    assert refused.returncode != 0 and "--event-map applies to event files" in refused.stderr


def test_amazon_metadata_prices_with_symbols_ranges_and_category_lists(tmp_path: Path) -> None:
    """Amazon 2018 metadata: ``"$12.99"`` and ``"$1,299.00"`` are prices; a range keeps the
    item without a price (it was quarantined whole, 74% of a real file); the category list
    is a path, HTML entities decoded."""
    lines = [
        {
            "asin": "B1",
            "title": "Cable &amp; Clip",
            "category": ["Electronics", "Accessories &amp; Supplies", "Cables"],
            "price": "$12.99",
        },
        {"asin": "B2", "title": "Hub", "category": ["Electronics"], "price": "$5.49 - $8.99"},
        {"asin": "B3", "title": "TV", "price": "$1,299.00"},
        {"asin": "B4", "title": "Mug", "price": "-$3.00"},
        {"asin": "B5", "title": "Pen", "price": "12,99"},  # a decimal comma: refused, hinted
        {
            "asin": "B6",
            "title": "Cup",
            "price": "N/A",
            "description": "Call 138&nbsp;1234&nbsp;5678",
        },
    ]
    path = _write(tmp_path, "meta.json", "\n".join(json.dumps(x) for x in lines) + "\n")
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options(table="items", mapping={"item_id": "asin"}))
    assert (report.rows_loaded, report.rows_quarantined) == (4, 2)  # negative; decimal comma
    assert "--decimal ," in " ".join(report.quarantine_reasons)
    assert any("1 item kept without a price" in n and "$5.49 - $8.99" in n for n in report.warnings)
    assert query(ws, "SELECT item_id, title, category, price FROM items ORDER BY 1") == [
        ("B1", "Cable & Clip", "Electronics > Accessories & Supplies > Cables", 12.99),
        ("B2", "Hub", "Electronics", None),
        ("B3", "TV", None, 1299.0),
        ("B6", "Cup", None, None),
    ]
    # entities are decoded before redaction: "&nbsp;" cannot hide a phone number
    assert scalar(ws, "SELECT description FROM items WHERE item_id = 'B6'") == "Call <PHONE>"


def test_order_lines_with_a_line_total_are_summed_even_when_equal(tmp_path: Path) -> None:
    """Olist order_items: two units of one product are two lines of one price; mapped as
    ``line_total`` they are summed (as ``amount`` they read as one repeated order total)."""
    text = (
        "order_id,order_item_id,customer_unique_id,order_purchase_timestamp,price\n"
        "o1,1,c1,2018-01-02 10:00:00,10.0\n"
        "o1,2,c1,2018-01-02 10:00:00,10.0\n"
        "o2,1,c2,2018-01-03 11:00:00,20.5\n"
    )
    path = _write(tmp_path, "order_items.csv", text)
    mapping = {"user_id": "customer_unique_id", "ts": "order_purchase_timestamp"}
    ws = Workspace(tmp_path / "ws")
    both = mapping | {"line_total": "price"}
    ingest_file(ws, path, options(table="orders", mapping=both, timezone="America/Sao_Paulo"))
    assert query(ws, "SELECT order_id, amount FROM orders ORDER BY 1") == [
        ("o1", 20.0),
        ("o2", 20.5),
    ]


def test_purchase_lines_with_zero_or_negative_quantities(tmp_path: Path) -> None:
    """Dunnhumby-like lines: a line total with quantity 0 has no unit price and is
    quarantined (its money was lost unseen); a negative quantity is a return, stored as a
    refund of the positive quantity, so gross revenue never goes down."""
    text = (
        "household_key,BASKET_ID,PRODUCT_ID,QUANTITY,SALES_VALUE,ts\n"
        "h1,b1,p1,2,5.00,2024-01-02T10:00:00Z\n"
        "h1,b1,p2,0,2.50,2024-01-02T10:00:00Z\n"
        "h1,b2,p1,-1,-2.50,2024-01-03T10:00:00Z\n"
        "h1,b3,p1,-1,3.50,2024-01-04T10:00:00Z\n"
    )
    mapping = {
        "user_id": "household_key",
        "order_id": "BASKET_ID",
        "item_id": "PRODUCT_ID",
        "quantity": "QUANTITY",
        "line_total": "SALES_VALUE",
    }
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(
        ws, _write(tmp_path, "tx.csv", text), options(mapping=mapping, event_type="purchase")
    )
    assert (report.rows_loaded, report.rows_quarantined) == (2, 2)
    reasons = [r for (r,) in query(ws, "SELECT reason FROM quarantine ORDER BY row_number")]
    assert "quantity 0 with a line total of 2.50" in reasons[0]
    assert "price '-3.5' is below 0" in reasons[1]  # a return of a positive amount
    assert query(ws, "SELECT event_type, quantity, price FROM events ORDER BY ts") == [
        ("purchase", 2.0, 2.5),
        ("refund", 1.0, 2.5),
    ]
