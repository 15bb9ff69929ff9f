"""Template filters: figures for people (money to cents with the currency, counts with
separators, ratios as percent, changes with a sign), the same in both languages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2


def num(value: Any, digits: int = 0) -> str:
    if value is None or value != value:
        return "–"
    return f"{float(value):,.{digits}f}"


def money(value: Any, currency: str | None = None) -> str:
    if value is None or value != value:
        return "–"
    text = f"{float(value):,.2f}"
    return f"{text} {currency}" if currency else text


def pct(value: Any, digits: int = 1) -> str:
    if value is None or value != value:
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def change(value: Any) -> str:
    """A relative change (0.05 -> '+5.0%'); '–' when there is nothing to compare with."""
    if value is None or value != value:
        return "–"
    return f"{100 * float(value):+.1f}%"


def points(value: Any) -> str:
    """A change of a ratio in percentage points (0.032 -> '+3.2 pp')."""
    if value is None or value != value:
        return "–"
    return f"{100 * float(value):+.1f} pp"


def when(value: Any) -> str:
    """A time as 'YYYY-MM-DD HH:MM UTC' (text passes through)."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC" if value.tzinfo else "%Y-%m-%d %H:%M")
    return str(value)


def register(env: jinja2.Environment) -> None:
    env.filters.update(num=num, money=money, pct=pct, change=change, points=points, when=when)
