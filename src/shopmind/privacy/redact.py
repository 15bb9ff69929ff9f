"""One redactor for free text: personal data found in a string is replaced by a typed placeholder.

Recognised (checked in this order, an earlier kind claims its characters first):

* ``<EMAIL>``      e-mail addresses;
* ``<IP>``         IPv6 (validated by :mod:`ipaddress`) and IPv4 (each octet 0-255);
* ``<ID_CARD>``    Chinese resident ID numbers: 18 characters with a valid birth date and the
  ISO 7064 MOD 11-2 check character, or the old 15-digit form with a valid birth date;
* ``<BANK_CARD>``  payment card numbers: 13-19 digits, spaces or dashes allowed, Luhn-checked;
* ``<PHONE>``      Chinese mobiles (``13912345678``, ``+86 139 1234 5678``), Chinese landlines
  (``010-12345678``, ``(0755)1234567``), international numbers (``+44 20 7946 0958``) and
  US-style numbers (``(415) 555-0100``, ``415-555-0100``).

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

PLACEHOLDERS = {
    "email": EMAIL,
    "phone": PHONE,
    "ip": IP,
    "id_card": ID_CARD,
    "bank_card": BANK_CARD,
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
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])", _A)
_CN_MOBILE = re.compile(r"(?<![\w+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)", _A)
_CN_LANDLINE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)86[ -]?(?:\(0?\d{2,3}\)|0?\d{2,3})[ -]?|\(0\d{2,3}\)[ -]?|0\d{2,3}-)"
    r"\d{7,8}(?:-\d{1,5})?(?!\d)",
    _A,
)
_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?!\d)", _A)
_US = re.compile(
    r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])", _A
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
    digits = match.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


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
    ("id_card", _ID18, id_card_valid),
    ("id_card", _ID15, id_card_valid),
    ("bank_card", _CARD, _is_card),
    ("phone", _CN_MOBILE, _always),
    ("phone", _CN_LANDLINE, _always),
    ("phone", _INTERNATIONAL, _digit_count(8, 15)),
    ("phone", _US, _always),
)


#: A superset test: text without a match holds nothing the passes could find. The SQL side
#: uses the same expression (RE2 accepts it) to call the redactor only where it may matter.
CANDIDATE_RE = r"@|:|[0-9][0-9 ().-]{5,}[0-9]"
_CANDIDATE = re.compile(CANDIDATE_RE, _A)


_NAMES = ("email", "ipv6", "ipv4", "id18", "id15", "card", "mobile", "landline", "intl", "us")
_BY_NAME = dict(zip(_NAMES, _PASSES, strict=True))
# The number-shaped kinds all start with a digit, "+" or "(": the look-ahead lets the scan
# skip every other position at once (most characters of ordinary text).
_NUMBERS = re.compile(
    "(?=[0-9+(])(?:" + "|".join(f"(?P<{n}>{_BY_NAME[n][1].pattern})" for n in _NAMES[2:]) + ")",
    _A,
)


def find_pii(text: str) -> list[tuple[str, int, int]]:
    """Spans of personal data in ``text``: ``(kind, start, end)``, sorted, never overlapping.

    ``kind`` is one of ``email``, ``phone``, ``ip``, ``id_card``, ``bank_card``.
    """
    if not text or _CANDIDATE.search(text) is None:
        return []
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
