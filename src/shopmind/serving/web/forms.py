"""Reading form and query fields without a 500: each reader returns the value or the default
and appends a message (in the page's language) to ``errors`` for the page to show inline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from shopmind.serving.web.framework import Ctx


def text(ctx: Ctx, name: str, default: str = "") -> str:
    """A field from the POST form, else from the query string (stripped, <= 400 chars)."""
    if name in ctx.form:
        return ctx.form[name][:400]
    return ctx.query(name, default)


def choice(ctx: Ctx, name: str, options: Sequence[str], default: str, errors: list[str]) -> str:
    value = text(ctx, name, default) or default
    if value not in options:
        errors.append(ctx.t("form.bad_choice", field=name, options=", ".join(options)))
        return default
    return value


def integer(ctx: Ctx, name: str, default: int, low: int, high: int, errors: list[str]) -> int:
    raw = text(ctx, name, str(default)) or str(default)
    try:
        value = int(raw)
    except ValueError:
        errors.append(ctx.t("form.bad_int", field=name, low=low, high=high))
        return default
    if not low <= value <= high:
        errors.append(ctx.t("form.bad_int", field=name, low=low, high=high))
        return default
    return value


def number(
    ctx: Ctx, name: str, default: float, low: float, errors: list[str], *, strict: bool = False
) -> float:
    """A number >= ``low`` (> ``low`` when ``strict``)."""
    raw = text(ctx, name, f"{default:g}") or f"{default:g}"
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value != value or value < low or (strict and value == low):
        key = "form.bad_positive" if strict else "form.bad_min"
        errors.append(ctx.t(key, field=name, low=f"{low:g}"))
        return default
    return value


def day(ctx: Ctx, name: str, default: date | None, errors: list[str]) -> date | None:
    """A date written YYYY-MM-DD (what ``<input type="date">`` sends)."""
    raw = text(ctx, name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(ctx.t("form.bad_date", field=name))
        return default


def date_range(
    ctx: Ctx, default_start: date, default_end: date, errors: list[str]
) -> tuple[date, date]:
    """``start`` and ``end`` (both inclusive); the defaults when absent, wrong or reversed."""
    start = day(ctx, "start", default_start, errors) or default_start
    end = day(ctx, "end", default_end, errors) or default_end
    if end < start:
        errors.append(ctx.t("form.dates_reversed", start=start.isoformat(), end=end.isoformat()))
        return default_start, default_end
    return start, end


def steps(ctx: Ctx, name: str, default: str, errors: list[str]) -> tuple[str, ...]:
    """Comma-separated names (e.g. funnel steps); at least two, at most ten."""
    raw = text(ctx, name, default)
    names = tuple(s.strip() for s in raw.split(",") if s.strip())
    if len(names) < 2:
        errors.append(ctx.t("form.too_few_steps"))
        return ()
    if len(names) > 10:
        errors.append(ctx.t("form.too_many_steps"))
        return ()
    return names
