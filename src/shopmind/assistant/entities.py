"""What a customer message names: order ids, dates, products.

* **Order ids**: ASCII tokens with at least four digits, optionally a short letter prefix and
  ``#``/``-`` (``o00001234``, ``#536365``, ``SO-2024-0042``); Chinese text around them is a
  boundary (``订单o123456到哪了``). Candidates only: whether an id is a real order *of this
  customer* is decided against the workspace (:mod:`shopmind.assistant.answers`).
* **Dates**: ISO (``2025-03-02``), ``3/2/2025``, ``March 2``, ``2 March``, Chinese
  ``3月2日``/``2025年3月2号``, and relative words (today, yesterday, N days ago, 今天, 昨天,
  前天, N天前), resolved against a reference date.
* **Products**: catalogue titles (English or Chinese) that occur in the message, longest first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_ORDER = re.compile(
    r"(?<![A-Za-z0-9@.])#?((?:[A-Za-z]{1,4}[-_]?)?\d[\d-]{2,}\d[A-Za-z]?)(?![A-Za-z0-9@])", re.ASCII
)
_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_SLASH = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_DAY = re.compile(rf"\b({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_WORD})\b", re.IGNORECASE
)
_ZH_DATE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]")
_DAYS_AGO = re.compile(r"\b(\d{1,3}) days? ago\b|(\d{1,3})\s*天前", re.IGNORECASE)
_RELATIVE = {
    "today": 0,
    "yesterday": 1,
    "今天": 0,
    "昨天": 1,
    "前天": 2,
    "大前天": 3,
}


@dataclass(frozen=True)
class Entities:
    order_ids: list[str] = field(default_factory=list)
    dates: list[dt.date] = field(default_factory=list)
    products: list[tuple[str, str]] = field(default_factory=list)  # (item_id, title)

    def to_dict(self) -> dict[str, object]:
        return {
            "order_ids": self.order_ids,
            "dates": [d.isoformat() for d in self.dates],
            "products": [{"item_id": i, "title": t} for i, t in self.products],
        }


def order_ids(text: str) -> list[str]:
    """Order-id candidates in order of appearance (dates and ISO days are skipped)."""
    dated = (_ISO, _SLASH, _ZH_DATE, _MONTH_DAY, _DAY_MONTH)
    spans = [m.span() for pattern in dated for m in pattern.finditer(text)]
    out: list[str] = []
    for match in _ORDER.finditer(text):
        start = match.start(1)
        if any(s <= start < e for s, e in spans):
            continue
        value = match.group(1)
        if sum(ch.isdigit() for ch in value) < 4 or value in out:
            continue
        out.append(value)
    return out


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _past(month: int, day: int, today: dt.date) -> dt.date | None:
    """A month/day without a year: the most recent such day not after today."""
    value = _safe_date(today.year, month, day)
    if value is not None and value > today:
        value = _safe_date(today.year - 1, month, day)
    return value


def dates(text: str, today: dt.date | None = None) -> list[dt.date]:
    """Dates named in ``text``, resolved against ``today`` (default: the current UTC date)."""
    today = today or dt.datetime.now(dt.UTC).date()
    found: list[dt.date | None] = []
    for y, m, d in _ISO.findall(text):
        found.append(_safe_date(int(y), int(m), int(d)))
    for a, b, y in _SLASH.findall(text):
        year = int(y) + (2000 if len(y) == 2 else 0)
        found.append(_safe_date(year, int(a), int(b)))  # month/day/year (US order)
    for month, day in _MONTH_DAY.findall(text):
        found.append(_past(_MONTHS[month.lower()], int(day), today))
    for day, month in _DAY_MONTH.findall(text):
        found.append(_past(_MONTHS[month.lower()], int(day), today))
    for y, m, d in _ZH_DATE.findall(text):
        found.append(_safe_date(int(y), int(m), int(d)) if y else _past(int(m), int(d), today))
    for en, zh in _DAYS_AGO.findall(text):
        found.append(today - dt.timedelta(days=int(en or zh)))
    lowered = text.lower()
    for word, back in _RELATIVE.items():
        if word in lowered and not (word == "前天" and "大前天" in lowered):
            found.append(today - dt.timedelta(days=back))
    out: list[dt.date] = []
    for value in found:
        if value is not None and value not in out:
            out.append(value)
    return out


def products(text: str, titles: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Catalogue items whose title (at least 3 characters) occurs in ``text`` (case-
    insensitive), longest title first, at most 5."""
    lowered = text.lower()
    hits = [
        (item_id, title)
        for item_id, title in titles
        if title and len(title) >= 3 and title.lower() in lowered
    ]
    hits.sort(key=lambda pair: -len(pair[1]))
    return hits[:5]


def extract(
    text: str, titles: Iterable[tuple[str, str]] = (), today: dt.date | None = None
) -> Entities:
    return Entities(order_ids(text), dates(text, today), products(text, titles))
