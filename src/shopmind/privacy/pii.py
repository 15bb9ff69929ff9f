"""Direct PII at the door: recognise PII columns by name and redact PII found in free text.

Direct PII (e-mail, phone, person name, nickname, postal address, IP address, ID and card
numbers, chat handles) is never stored raw: a PII column is hashed (keyed, so equal values
still match, e.g. shared devices in fraud checks) or dropped, by policy. Free-text values
(search queries, descriptions, quarantined raw rows) go through the one redactor,
:func:`shopmind.privacy.redact.redact_text`, also inside DuckDB (:func:`redact_text_sql`).
Extra columns nobody declared are judged by their values (:func:`looks_non_personal`).
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from shopmind.privacy.pseudonymize import pseudonymize_sql
from shopmind.privacy.redact import CANDIDATE_RE, find_pii, redact_text

#: "dob" as a word of the name (not inside "adobe")
_DOB = re.compile(r"(^|[^a-z])dob([^a-z]|$)")
#: Whose contact detail a column holds, when its name says so first.
_PARTY = (
    r"(billing|shipping|delivery|customer|contact|recipient|buyer|account|invoice|home|user"
    r"|member|payer|sender)?"
)

# Column-name patterns, matched on the lower-cased name with separators removed.
_PII_NAME_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"^(e?mail|emailaddress|email\w*|\w*email)$"),
    "phone": re.compile(r"^(phone\w*|\w*phone|mobile\w*|tel|telephone|cell\w*)$"),
    # a person's party (billing, shipping, ...) may come first: "Billing First Name"
    "name": re.compile(
        rf"^{_PARTY}(name|fullname|firstname|lastname|surname|givenname|familyname"
        r"|username|nick|nickname\w*|realname|displayname|receiver\w*|consignee\w*)\d*$"
    ),
    # street and numbered address lines ("Shipping Address1", "Billing Street"); a postcode
    # alone (thousands of households) stays an attribute, like the city
    "address": re.compile(
        rf"^({_PARTY}(\w*address\w*|street\w*|addr\d*|housenumber)|addressline\w*|home"
        r"|homeaddr)$"
    ),
    "birth_date": re.compile(r"^(\w*birth\w*|\w*bday\w*|\w*geburt\w*)$"),
    "ip": re.compile(r"^(ip|ipaddress|ipaddr|clientip|remoteaddr|ipv4|ipv6)$"),
    "contact": re.compile(r"^(contact\w*|wechat\w*|weixin\w*|wx|qq\w*|whatsapp|telegram)$"),
    "id_card": re.compile(
        r"^(idcard\w*|idno|idnumber|nationalid|ssn|passport\w*|shenfenzheng|sfz)$"
    ),
    "bank_card": re.compile(r"^(bankcard\w*|cardno|cardnumber|creditcard\w*|iban|pan)$"),
}

#: Name of the DuckDB scalar function that runs :func:`redact_text` (see register_redactor).
REDACT_FUNCTION = "shopmind_redact"


def pii_kind(column: str) -> str | None:
    """The PII kind a column name denotes (email, phone, name, address, ip, contact, id_card,
    bank_card) or None."""
    key = re.sub(r"[^a-z0-9]", "", column.lower())
    if key.endswith("ipaddress") or key in {"ip", "ipaddr"}:
        return "ip"
    if _DOB.search(column.lower()):  # "customer_dob", "DOB (MM/DD/YYYY)"
        return "birth_date"
    for kind, pattern in _PII_NAME_PATTERNS.items():
        if pattern.match(key):
            return kind
    return None


def _redact_arrow(values: Any) -> Any:
    """``redact_text`` over an Arrow string array (DuckDB evaluates the annotations of a
    registered function, so they name no lazily imported module)."""
    import pyarrow as pa  # only when a value needs the Python redactor (start-up time)

    return pa.array(
        [None if v is None else redact_text(v) for v in values.to_pylist()], type=pa.string()
    )


def register_redactor(con: duckdb.DuckDBPyConnection) -> None:
    """Make :func:`redact_text_sql` usable on ``con`` (idempotent)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [REDACT_FUNCTION]
    ).fetchall()
    if exists[0][0]:
        return
    con.create_function(  # type: ignore[call-overload]
        REDACT_FUNCTION,
        _redact_arrow,
        ["VARCHAR"],
        "VARCHAR",
        type="arrow",
        null_handling="special",
        side_effects=False,
    )


def redact_text_sql(expression: str) -> str:
    """SQL equal to :func:`redact_text` of a text expression (NULL stays NULL).

    Values that fail the redactor's own pre-test never leave DuckDB; the others go through
    the Python redactor (the connection needs :func:`register_redactor`)."""
    v = f"CAST({expression} AS VARCHAR)"
    return (
        f"CASE WHEN regexp_matches({v}, '{CANDIDATE_RE}') THEN {REDACT_FUNCTION}({v}) ELSE {v} END"
    )


#: Separators removed from phone numbers before hashing (a Python and an RE2 pattern alike).
_PHONE_SEPARATORS = r"[ \t\r\n().-]"
#: A Chinese mobile with its country prefix; group 2 is the 11-digit number.
_CN_MOBILE = r"^(\+|00)?86(1[0-9]{10})$"


def normalize_phone(value: str) -> str:
    """A phone number as hashed: lower-cased, spaces, dashes, dots and brackets removed, and a
    +86 / 0086 / 86 prefix dropped from Chinese mobiles (``+86 139-1234-5678`` ->
    ``13912345678``), so that one number written two ways gets one keyed hash."""
    compact = re.sub(_PHONE_SEPARATORS, "", value.lower())
    return re.sub(_CN_MOBILE, r"\2", compact)


def protect_pii_sql(
    expression: str, key: bytes, policy: str, kind: str | None = None
) -> str | None:
    """SQL that stores a PII column safely: a keyed hash, or None when the policy drops it.
    Values are lower-cased and trimmed first; phones (``kind='phone'``) are normalised as by
    :func:`normalize_phone`."""
    if policy == "drop":
        return None
    value = f"lower(trim(CAST({expression} AS VARCHAR)))"
    if kind == "phone":
        compact = f"regexp_replace({value}, '{_PHONE_SEPARATORS}', '', 'g')"
        value = f"regexp_replace({compact}, '{_CN_MOBILE}', '\\2')"
    return pseudonymize_sql(value, key, prefix="h_")


_PERSON = (
    r"(user|customer|cust|visitor|buyer|shopper|subscriber|guest|member|client|account|"
    r"person|anonymous|distinct|profile|contact|kunde|kunden)"
)
#: a person's or a visit's identifier: the word alone or with an id ending, anywhere last
_PERSON_ID = re.compile(
    rf"({_PERSON}(unique)?(id|no|num|number|nr|nummer|key|code|uuid|guid|hash|session)?"
    r"|(session|cookie)(id|key)?|^uid)$"
)


def names_a_person(column: str) -> bool:
    """Whether a column name is a person's or a visit's identifier (``user_id``,
    ``customer_unique_id``, ``visitorid``, ``user_session``, ``Kundennummer``,
    ``distinct_id``, ...): such a column in an items file (e.g. one made from an events
    export) is personal, not a product attribute. Attributes of a person (``sessions_30d``,
    ``customer_segment``, ``customer_rating``) are not identifiers."""
    key = re.sub(r"[^a-z0-9]", "", column.lower())
    return bool(_PERSON_ID.search(key))


def pii_kind_of_values(values: list[str]) -> str | None:
    """PII kind when most non-empty sample values are one e-mail, phone number, IP, ID-card or
    bank-card number each (as recognised by the redactor)."""
    present = [v.strip() for v in values if v and v.strip()]
    if not present:
        return None
    kinds: dict[str, int] = {}
    for value in present:
        spans = find_pii(value)
        if len(spans) == 1 and spans[0][1] == 0 and spans[0][2] == len(value):
            kinds[spans[0][0]] = kinds.get(spans[0][0], 0) + 1
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        if count >= 0.5 * len(present):
            return kind
    return None


_NUMBER = re.compile(r"^[+-]?(\d{1,5}(\.\d+)?|\.\d+)$")
#: money with cents and thousands separators ("1,234.50", "123456.70"): an amount, not an id
_MONEY = re.compile(r"^[+-]?\d{1,3}(,\d{3})*\.\d{2}$|^[+-]?\d{1,9}\.\d{2}$")
#: a date or a time stamp (ISO, day/month or month/day): when something happened, not who
#: (birth dates are recognised by the column's name)
_WHEN = re.compile(
    r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s?[AP]M)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_BOOLEAN = {"true", "false", "yes", "no", "y", "n", "t", "f", "0", "1"}


def looks_non_personal(values: list[str]) -> bool:
    """Whether an undeclared column's sample values look safe to store as they are.

    Safe: yes/no flags, small numbers (at most 5 integer digits: scores, counts, ages, not
    account numbers), amounts with cents, dates and time stamps, and categories (every value
    repeated: at most one distinct value per three rows, 50 at most), with no personal value
    found by the redactor. Anything else
    (names, handles, addresses, long numbers) counts as personal."""
    present = [v.strip() for v in values if v is not None and v.strip()]
    if not present:
        return True
    if any(find_pii(v) for v in present):
        return False
    if all(v.lower() in _BOOLEAN for v in present) or all(
        _NUMBER.match(v) or _MONEY.match(v) or _WHEN.match(v) for v in present
    ):
        return True
    distinct = len(set(present))
    return distinct <= 50 and distinct * 3 <= len(present)
