"""Direct PII at the door: recognise PII columns by name and redact PII found in free text.

Direct PII (e-mail, phone, person name, postal address, IP address) is never stored raw:
a PII column is hashed (keyed, so equal values still match, e.g. shared devices in fraud
checks) or dropped, by policy. Free-text values (search queries, quarantined raw rows) are
scrubbed of e-mail addresses, phone numbers and IP addresses.
"""

from __future__ import annotations

import re

from shopmind.privacy.pseudonymize import pseudonymize_sql

# Column-name patterns, matched on the lower-cased name with separators removed.
_PII_NAME_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"^(e?mail|emailaddress|email\w*|\w*email)$"),
    "phone": re.compile(r"^(phone\w*|\w*phone|mobile\w*|tel|telephone|cell\w*)$"),
    "name": re.compile(
        r"^(name|fullname|firstname|lastname|surname|givenname|familyname|customername"
        r"|username|contactname|recipientname|billingname|shippingname)$"
    ),
    "address": re.compile(
        r"^(\w*address|street\w*|addressline\w*|billingaddress|shippingaddress)$"
    ),
    "ip": re.compile(r"^(ip|ipaddress|ipaddr|clientip|remoteaddr|ipv4|ipv6)$"),
}

EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE_RE = r"(\+\d[\d ()-]{6,18}\d|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b)"
IPV4_RE = r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"


def pii_kind(column: str) -> str | None:
    """The PII kind a column name denotes ('email', 'phone', 'name', 'address', 'ip') or None."""
    key = re.sub(r"[^a-z0-9]", "", column.lower())
    if key.endswith("ipaddress") or key in {"ip", "ipaddr"}:
        return "ip"
    for kind, pattern in _PII_NAME_PATTERNS.items():
        if pattern.match(key):
            return kind
    return None


def redact_text_sql(expression: str) -> str:
    """SQL that replaces e-mails, IPs and phone numbers in a text expression by placeholders."""
    # IPv4 is matched before phone numbers, which would otherwise swallow it.
    out = f"regexp_replace(CAST({expression} AS VARCHAR), '{EMAIL_RE}', '<EMAIL>', 'g')"
    out = f"regexp_replace({out}, '{IPV4_RE}', '<IP>', 'g')"
    return f"regexp_replace({out}, '{PHONE_RE}', '<PHONE>', 'g')"


def protect_pii_sql(expression: str, key: bytes, policy: str) -> str | None:
    """SQL that stores a PII column safely: a keyed hash, or None when the policy drops it."""
    if policy == "drop":
        return None
    return pseudonymize_sql(f"lower(trim(CAST({expression} AS VARCHAR)))", key, prefix="h_")


_EMAIL_VALUE = re.compile(rf"^\s*{EMAIL_RE}\s*$")
_PHONE_VALUE = re.compile(rf"^\s*{PHONE_RE}\s*$")
_IP_VALUE = re.compile(rf"^\s*{IPV4_RE}\s*$")


def pii_kind_of_values(values: list[str]) -> str | None:
    """PII kind when most non-empty sample values are e-mails, phone numbers or IPs."""
    present = [v for v in values if v and v.strip()]
    if not present:
        return None
    for kind, pattern in (("email", _EMAIL_VALUE), ("ip", _IP_VALUE), ("phone", _PHONE_VALUE)):
        if sum(1 for v in present if pattern.match(v)) >= 0.5 * len(present):
            return kind
    return None
