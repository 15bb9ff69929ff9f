"""One redactor for free text: personal data found in a string is replaced by a typed placeholder.

Recognised (checked in this order, an earlier kind claims its characters first):

* ``<EMAIL>``      e-mail addresses;
* ``<IP>``         IPv6 (validated by :mod:`ipaddress`) and IPv4 (each octet 0-255);
* ``<IBAN>``       IBANs (``GB82 WEST 1234 5698 7654 32``): 15-34 characters passing the
  ISO 13616 mod-97 check (and holding a run of 7 digits, so :data:`CANDIDATE_RE` finds it);
* ``<ID_CARD>``    Chinese resident ID numbers: 18 characters with a valid birth date and the
  ISO 7064 MOD 11-2 check character, or the old 15-digit form with a valid birth date;
* ``<BANK_CARD>``  payment card numbers: 13-19 digits, spaces or dashes allowed, a first digit
  of 2-6 (ISO/IEC 7812 major industry identifier of the card networks), Luhn-checked;
* ``<SSN>``        US social security numbers, dashed form only (``536-22-1234``), with the SSA
  rules: area not 000, 666 or 9xx, group not 00, serial not 0000;
* ``<PHONE>``      Chinese mobiles (``13912345678``, ``+86 139 1234 5678``), Chinese landlines
  (``010-12345678``, ``(0755)1234567``), UK numbers written nationally (``07700 900123``,
  ``020 7946 0958``; Ofcom's 01/02/03/07 ranges), international numbers
  (``+44 20 7946 0958``) and US-style numbers (``(415) 555-0100``, ``415-555-0100``; not the
  Chinese business hotlines ``400-xxx-xxxx``).

Not personal data, whatever its shape: a number right after an order keyword (``订单号``,
``单号``, ``order``, ``order no.``, ``tracking number``, ``#``), an IPv4-shaped version after
``version`` / ``ver`` / ``版本``, and numbers inside a URL's path.

Matching uses compiled regular expressions plus cheap checks (checksums, date validity); a
string that fails the one-pattern pre-test :data:`CANDIDATE_RE` (no ``@``, no ``:``, no run of
digits and separators) is returned untouched without running any pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date

EMAIL = "<EMAIL>"
PHONE = "<PHONE>"
IP = "<IP>"
ID_CARD = "<ID_CARD>"
BANK_CARD = "<BANK_CARD>"
IBAN = "<IBAN>"
SSN = "<SSN>"

PLACEHOLDERS = {
    "email": EMAIL,
    "phone": PHONE,
    "ip": IP,
    "id_card": ID_CARD,
    "bank_card": BANK_CARD,
    "iban": IBAN,
    "ssn": SSN,
}

_A = re.ASCII  # \w and \d: ASCII only, so Chinese text around a number is a boundary
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", _A)
_H4 = r"[0-9A-Fa-f]{1,4}"
_V4_TAIL = r"(?:\d{1,3}\.){3}\d{1,3}"
# IPv6: the full form (8 groups) or a compressed one with "::" (times such as 12:50:00 are
# neither, so they never reach the validity check)
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])"
    rf"(?:(?:{_H4}:){{7}}{_H4}|(?:{_H4}(?::{_H4})*)?::(?:(?:{_H4}:)*(?:{_V4_TAIL}|{_H4}))?)"
    r"(?:%[0-9A-Za-z]+)?(?![0-9A-Za-z:.])",
    _A,
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\.?\d)(?!\w)", _A)
_ID18 = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[0-9Xx](?![0-9A-Za-z])", _A
)
_ID15 = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}\d{2}[01]\d[0-3]\d\d{3}(?![0-9A-Za-z])", _A)
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])", _A
)
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])", _A)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])", _A)
_CN_MOBILE = re.compile(r"(?<![\w+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)", _A)
_CN_LANDLINE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)86[ -]?(?:\(0?\d{2,3}\)|0?\d{2,3})[ -]?|\(0\d{2,3}\)[ -]?|0\d{2,3}-)"
    r"\d{7,8}(?:-\d{1,5})?(?!\d)",
    _A,
)
# UK national format (Ofcom numbering plan) in its usual groupings: mobiles 07xxx xxxxxx or
# 07xxxxxxxxx (not 070 personal numbers, not 076 pagers), 020 xxxx xxxx, 01xx xxx xxxx,
# 01xxx xxxxx(x), 03xx xxx xxxx. Ungrouped 10-digit numbers are ISBNs and ASINs as often.
_UK = re.compile(
    r"(?<![\w+-])0(?:7[1-57-9]\d{2} ?\d{6}|2\d \d{4} \d{4}|1\d{2} \d{3} \d{4}|1\d{3} \d{5,6}"
    r"|3\d{2} \d{3} \d{4})(?![\w-])",
    _A,
)
_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?!\d)", _A)
# 400 is no US area code; 400-xxx-xxxx is a Chinese business hotline, not a person's phone
_US = re.compile(
    r"(?<![\w+])(?:\+?1[ .-]?)?(?!\(?400[) .-])"
    r"(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])",
    _A,
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def id_card_valid(value: str) -> bool:
    """True for an 18-character Chinese ID number with a valid date and check character,
    or a 15-digit old-form number with a valid date."""
    if len(value) == 18:
        if not value[:17].isdigit():
            return False
        total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
        if _ID_CHECK[total % 11] != value[17].upper():
            return False
        return _valid_date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    if len(value) == 15 and value.isdigit():
        return _valid_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return False


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_card(match: str) -> bool:
    """Luhn-valid 13-19 digits whose first digit names a card network (2-6: Mastercard 2/5,
    Amex / JCB / Diners 3, Visa 4, Discover / UnionPay 6): not a 16-digit time stamp."""
    digits = match.replace(" ", "").replace("-", "")
    return (
        13 <= len(digits) <= 19
        and digits[0] in "23456"
        and len(set(digits)) > 1
        and luhn_valid(digits)
    )


def iban_valid(value: str) -> bool:
    """ISO 13616: 15-34 characters, the first four moved to the end, letters as 10-35, the
    number mod 97 is 1. Also needs a run of 7 digits (the pre-test :data:`CANDIDATE_RE`)."""
    code = value.replace(" ", "")
    if not 15 <= len(code) <= 34 or _CANDIDATE.search(value) is None:
        return False
    return int("".join(str(int(c, 36)) for c in code[4:] + code[:4])) % 97 == 1


def ssn_valid(value: str) -> bool:
    """A dashed US SSN the SSA could issue: area not 000, 666 or 900-999, group not 00,
    serial not 0000."""
    area, group, serial = value.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _is_ipv6(match: str) -> bool:
    if match.count(":") < 2 or not any(c not in ":" for c in match):
        return False
    try:
        ipaddress.IPv6Address(match)
    except ValueError:
        return False
    return True


def _digit_count(lo: int, hi: int) -> Callable[[str], bool]:
    def check(match: str) -> bool:
        return lo <= sum(c.isdigit() for c in match) <= hi

    return check


def _always(_: str) -> bool:
    return True


_PASSES: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("email", _EMAIL, _always),
    ("ip", _IPV6, _is_ipv6),
    ("ip", _IPV4, _always),
    ("iban", _IBAN, iban_valid),
    ("id_card", _ID18, id_card_valid),
    ("id_card", _ID15, id_card_valid),
    ("bank_card", _CARD, _is_card),
    ("ssn", _SSN, ssn_valid),
    ("phone", _CN_MOBILE, _always),
    ("phone", _CN_LANDLINE, _always),
    ("phone", _UK, _always),
    ("phone", _INTERNATIONAL, _digit_count(8, 15)),
    ("phone", _US, _always),
)


#: A superset test: text without a match holds nothing the passes could find. The SQL side
#: uses the same expression (RE2 accepts it) to call the redactor only where it may matter.
CANDIDATE_RE = r"@|:|[0-9][0-9 ().-]{5,}[0-9]"
_CANDIDATE = re.compile(CANDIDATE_RE, _A)


_NAMES = (
    "email",
    "ipv6",
    "ipv4",
    "iban",
    "id18",
    "id15",
    "card",
    "ssn",
    "mobile",
    "landline",
    "uk",
    "intl",
    "us",
)
_BY_NAME = dict(zip(_NAMES, _PASSES, strict=True))
# The number-shaped kinds all start with a digit, "+" or "(" (IBANs with a capital): the
# look-ahead lets the scan skip every other position at once (most characters of ordinary text).
_NUMBERS = re.compile(
    "(?=[0-9+(A-Z])(?:" + "|".join(f"(?P<{n}>{_BY_NAME[n][1].pattern})" for n in _NAMES[2:]) + ")",
    _A,
)


# a URL runs over the characters RFC 3986 allows (ASCII only: "链接https://x.cn/1，我的手机..."
# ends at the Chinese comma)
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+", re.IGNORECASE)
#: hosts whose path is a person's number or handle (click-to-chat and phone links)
CHAT_HOSTS = (
    "wa.me",
    "api.whatsapp.com",
    "t.me",
    "telegram.me",
    "m.me",
    "line.me",
    "viber.click",
    "signal.me",
)
_CONTACT_HOSTS = re.compile(
    r"(?:https?://)?(?:www\.)?(?:" + "|".join(re.escape(h) for h in CHAT_HOSTS) + ")/",
    re.IGNORECASE,
)


def _outside_url_paths(text: str, spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """``spans`` less the numbers inside a URL's host or path (``/product/13812345678`` is a
    product id, not a phone); e-mails, IPs and query values (``?phone=...``) stay."""
    if "/" not in text or not spans:
        return spans
    paths = []
    for m in _URL.finditer(text):
        if _CONTACT_HOSTS.match(m.group()):  # wa.me/8613812345678 is a phone number
            continue
        query = re.search(r"[?#]", m.group())
        paths.append((m.start(), m.start() + query.start() if query else m.end()))
    if not paths:
        return spans
    return [
        (kind, start, end)
        for kind, start, end in spans
        if kind in {"email", "ip"} or not any(lo <= start and end <= hi for lo, hi in paths)
    ]


# what comes right before a number that makes it an order / tracking number; a bare "#" is
# not enough ("Visa #4111...", "Tel. # 415-555-0100", "SSN# 536-22-1234" are personal)
_ORDER_BEFORE = re.compile(
    r"(?:订单号?|单号|(?<![A-Za-z])(?:order|tracking)(?:\s*(?:no\.?|number|id))?)"
    r"\s*(?:是|为)?[:：#]?\s*$",
    re.IGNORECASE,
)
_PERSONAL_WORD = r"(?<![A-Za-z])(?:card|account|acct|phone|tel|mobile|cell)|卡号?|账号|电话|手机"
_PERSONAL_HASH = re.compile(rf"(?:{_PERSONAL_WORD})\s*(?:no\.?|number)?\s*#\s*$", re.IGNORECASE)
# ... and a dotted version number (``version 1.2.3.4``), not an IPv4 address
_VERSION_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:version|ver\.?|v\.?|release|build|firmware)|版本号?)\s*[:：]?\s*$",
    re.IGNORECASE,
)
# a card number stays a card after "order" too ("order 4111 1111 1111 1111 was charged twice")
_ORDER_KINDS = frozenset({"phone", "id_card", "ssn"})


def after_order_word(text: str, start: int) -> bool:
    """Whether the number at ``text[start]`` follows an order keyword (an order number)."""
    lo = max(0, start - 24)
    return bool(_ORDER_BEFORE.search(text, lo, start)) and not _PERSONAL_HASH.search(
        text, lo, start
    )


def _not_an_id(text: str, kind: str, start: int) -> bool:
    if kind == "ip":
        return not _VERSION_BEFORE.search(text, max(0, start - 24), start)
    return kind not in _ORDER_KINDS or not after_order_word(text, start)


# after "card" / "cc" / "卡号", a Luhn-valid 12-19 digits is a card whatever its first digit
# (12-digit Maestro, 15-digit JCB 1800 / 2131)
_AFTER_CARD_WORD = re.compile(
    r"(?:(?<![A-Za-z])(?:card|cc)|卡号?)\s*(?:no\.?|number)?\s*[:：#]?\s*"
    r"(?P<n>(?<![\w-])\d(?:[ -]?\d){11,18})(?![\w-])",
    re.IGNORECASE,
)


def _cards_after_card_words(text: str, spans: list[tuple[str, int, int]]) -> None:
    for m in _AFTER_CARD_WORD.finditer(text):
        start, end = m.span("n")
        digits = m.group("n").replace(" ", "").replace("-", "")
        if luhn_valid(digits) and not any(s < end and start < e for _, s, e in spans):
            spans.append(("bank_card", start, end))


def find_pii(text: str) -> list[tuple[str, int, int]]:
    """Spans of personal data in ``text``: ``(kind, start, end)``, sorted, never overlapping.

    ``kind`` is one of ``email``, ``phone``, ``ip``, ``id_card``, ``bank_card``, ``iban``,
    ``ssn``. Numbers in a URL's path, order / tracking numbers (``订单号13812345678``,
    ``order 13812345678``) and versions (``version 1.2.3.4``) are not personal data.
    """
    if not text or _CANDIDATE.search(text) is None:
        return []
    spans = _find_pii(text)
    if "卡" in text or "card" in text.lower() or "cc" in text.lower():
        _cards_after_card_words(text, spans)
        spans.sort(key=lambda span: span[1])
    spans = [s for s in spans if _not_an_id(text, s[0], s[1])]
    spans = _outside_url_paths(text, spans)
    lowered = text.lower()
    if any(hint in lowered for hint in _CONTACT_NUMBER_HINTS):
        _contact_link_numbers(text, spans)
    return spans


# the number of a click-to-chat link (wa.me/8613812345678, api.whatsapp.com/send?phone=...,
# web.whatsapp.com/send?phone=...); _CONTACT_NUMBER_HINTS: a cheap test that it may match
_CONTACT_NUMBER_HINTS = ("wa.me", "t.me", "telegram.me", "whatsapp.com", "viber.click")
_CONTACT_NUMBER = re.compile(
    r"(?:wa\.me/|(?:t|telegram)\.me/\+?|viber\.click/|whatsapp\.com/send/?\?phone=)"
    r"(?P<n>\+?\d{7,15})(?!\d)",
    re.IGNORECASE,
)


def _contact_link_numbers(text: str, spans: list[tuple[str, int, int]]) -> None:
    """Add the phone number of each click-to-chat link to ``spans`` (in place): it is a
    person's number in whatever form (no ``+``, no grouping)."""
    for m in _CONTACT_NUMBER.finditer(text):
        start, end = m.span("n")
        if not any(s < end and start < e for _, s, e in spans):
            spans.append(("phone", start, end))
    spans.sort(key=lambda span: span[1])


def _find_pii(text: str) -> list[tuple[str, int, int]]:
    # Fast path: e-mails and IPv6 only where their marks are, then one scan for the number
    # kinds; any near miss (a failed checksum) sends the text through the passes one by one,
    # where a later kind may claim what an earlier one left.
    spans: list[tuple[str, int, int]] = []
    if "@" in text:
        spans += [("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            if not _is_ipv6(m.group()):
                return _find_by_passes(text)
            if not any(s < m.end() and m.start() < e for _, s, e in spans):
                spans.append(("ip", m.start(), m.end()))
    taken = list(spans)
    for m in _NUMBERS.finditer(text):
        kind, _, valid = _BY_NAME[m.lastgroup or ""]
        start, end = m.span()
        if any(s < end and start < e for _, s, e in taken):
            continue
        if not valid(m.group()):
            return _find_by_passes(text)
        spans.append((kind, start, end))
    spans.sort(key=lambda span: span[1])
    return spans


def _find_by_passes(text: str) -> list[tuple[str, int, int]]:
    taken: list[tuple[str, int, int]] = []
    for kind, pattern, valid in _PASSES:
        for m in pattern.finditer(text):
            start, end = m.span()
            if any(s < end and start < e for _, s, e in taken):
                continue
            if valid(m.group()):
                taken.append((kind, start, end))
    taken.sort(key=lambda span: span[1])
    return taken


def redact_text(text: str) -> str:
    """``text`` with every personal value (see :func:`find_pii`) replaced by its placeholder."""
    spans = find_pii(text)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for kind, start, end in spans:
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return "".join(out)
