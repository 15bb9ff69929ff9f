"""HTML pieces every report section uses: tables, figures, money and durations."""

from __future__ import annotations

import html
from typing import Any


def section(title: str, body: str, anchor: str | None = None) -> str:
    anchor_attr = f' id="{anchor}"' if anchor else ""
    return f"<section{anchor_attr}><h2>{html.escape(title)}</h2>{body}</section>"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cell(value: Any) -> str:
    """A table cell: missing values (None, NaN) are blank, never 'None' or 'nan'."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def chart(svg: str, name: str) -> str:
    return f'<figure class="chart" data-chart="{name}">{svg}</figure>'


def note(text: str) -> str:
    """One line in grey; ``text`` is HTML (callers escape what they did not write)."""
    return f"<p class='note'>{text}</p>"


def money(value: float | None, currency: str | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.2f} {currency or '(currency unknown)'}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share (0..1) as a percentage; blank when unknown."""
    if value is None or value != value:
        return ""
    return f"{100 * value:.{digits}f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
