import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.privacy import pii_kind, pseudonymize, pseudonymize_sql, redact_text_sql
from shopmind.privacy.pii import pii_kind_of_values, register_redactor

KEY = b"a-test-key-for-hmac-0001"


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40), st.binary(min_size=1, max_size=100))
def test_sql_pseudonym_equals_python_hmac(value: str, key: bytes) -> None:
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {pseudonymize_sql('v', key)} FROM (SELECT ? AS v)", [value]
    ).fetchone()
    assert got is not None and got[0] == pseudonymize(value, key)


def test_pseudonyms_depend_on_the_key_and_keep_nulls() -> None:
    assert pseudonymize("42", KEY) != pseudonymize("42", KEY + b"x")
    assert pseudonymize("42", KEY) == pseudonymize("42", KEY)
    con = duckdb.connect()
    assert con.execute(f"SELECT {pseudonymize_sql('NULL', KEY)}").fetchone() == (None,)


def test_pii_column_names() -> None:
    assert pii_kind("E-Mail") == "email"
    assert pii_kind("customer_email") == "email"
    assert pii_kind("Phone Number") == "phone"
    assert pii_kind("ip_address") == "ip"
    assert pii_kind("shipping_address") == "address"
    assert pii_kind("last_name") == "name"
    # export layouts name whose detail it is first (Shopify, WooCommerce)
    for column, kind in [
        ("Billing First Name", "name"),
        ("Shipping Address1", "address"),
        ("Billing Street", "address"),
        ("Date of Birth", "birth_date"),
    ]:
        assert pii_kind(column) == kind, column
    for harmless in (
        "item_id",
        "price",
        "category",
        "zip_code",
        "Billing Zip",
        "product_name",
        "Lineitem name",
        "description",
    ):
        assert pii_kind(harmless) is None, harmless


def test_pii_values_are_recognised_by_content() -> None:
    assert pii_kind_of_values(["ann@example.com", "bo@shop.cn", ""]) == "email"
    assert pii_kind_of_values(["+44 7700 900123", "+86 138 0013 8000"]) == "phone"
    assert pii_kind_of_values(["10.0.0.1", "192.168.1.20"]) == "ip"
    assert pii_kind_of_values(["12345678", "2020-01-01 10:00:00", "red"]) is None


def test_free_text_redaction() -> None:
    con = duckdb.connect()
    register_redactor(con)  # the SQL form runs the Python redactor as a DuckDB function
    text = "mail me at ann.lee@example.com or call +44 7700 900123 from 10.1.2.3 about 2020-01-01"
    row = con.execute(f"SELECT {redact_text_sql('t')} FROM (SELECT ? AS t)", [text]).fetchone()
    assert row is not None
    out = row[0]
    assert "ann.lee" not in out and "7700" not in out and "10.1.2.3" not in out
    assert "<EMAIL>" in out and "<PHONE>" in out and "<IP>" in out and "2020-01-01" in out
