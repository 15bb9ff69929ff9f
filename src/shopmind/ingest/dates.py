"""Day-first and month-first dates (``12/1/2010 8:26``, ``01.12.2010``): which order a column
uses, as strptime patterns for DuckDB's ``try_strptime``.

ISO-8601 text, epochs and typed columns need none of this (see
:func:`~shopmind.ingest.sqlparts.ts_value`). A column whose sampled values start with
``D/M/Y``-like dates is scanned once: a first part above 12 makes it day-first, a second part
above 12 month-first. When no value tells them apart (a log of days 1-12 only), the reading
whose dates span fewer days wins (a log is dense in days: ``12/1``, ``12/2`` are two
consecutive days in December rather than 12 January and 12 February); a tie is read
month-first. Dotted dates (``01.12.2010``, German and Russian exports) are always day-first.
``--date-format dmy|mdy`` or an explicit pattern (``%d/%m/%Y %H:%M``) overrides the guess; a
pattern without a year (Tmall's ``1111`` for 11 November, ``%m%d``) needs ``--year``, and day
numbers (Dunnhumby's ``DAY`` 1 .. 711) are read with ``--date-format days --day-one DATE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb

from shopmind.errors import IngestError
from shopmind.ingest.extract import quote_ident

#: A value that starts with a day/month/year or month/day/year date.
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?:$|[ T])")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p", "T%H:%M:%S")
ORDERS = ("dmy", "mdy")
_SAMPLE = 2000


@dataclass(frozen=True)
class DateReading:
    """How one column's dates are read: ``formats`` for ``try_strptime`` (empty: the
    ISO reading alone) and ``note`` (what was guessed and why; empty when nothing was)."""

    formats: tuple[str, ...] = ()
    note: str = ""


#: strptime directives that read a year (or a whole instant): a pattern without one reads
#: every date as 1900 unless ``--year`` names the year.
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%g", "%C", "%s", "%c", "%x", "%D", "%F")
#: A format ``"2015|%m%d"``: the pattern ``%m%d`` read in the year 2015 (see ``yearless``).
_IN_YEAR = re.compile(r"^(\d{4})\|(.+)$", re.DOTALL)


def has_year(pattern: str) -> bool:
    """Whether a strptime pattern reads the year (``%m%d`` does not)."""
    return any(d in pattern for d in _YEAR_DIRECTIVES)


#: ``--date-format days``: whole day numbers (Dunnhumby's ``DAY`` 1 .. 711), ``--day-one``
#: gives the date of day 1.
DAY_NUMBERS = "days"
_DAYS_FROM = re.compile(r"^days\|(\d{4}-\d{2}-\d{2})$")


def check_date_format(
    choice: str | None, year: int | None = None, day_one: str | None = None
) -> None:
    """Refuse a ``--date-format`` that is neither an order, ``days`` nor a strptime pattern,
    a pattern without a year unless ``--year`` gives it, a ``--year`` that has no such
    pattern, and ``days`` without an ISO ``--day-one`` (or the other way round)."""
    if choice == DAY_NUMBERS or day_one is not None:
        _check_day_numbers(choice, year, day_one)
        return
    pattern = choice is not None and "%" in choice
    if year is not None:
        if not pattern or has_year(str(choice)):
            raise IngestError(
                "--year is for dates written without a year (e.g. Tmall's '1111' for 11 "
                "November); it needs a --date-format pattern without %Y, such as '%m%d'.",
                hint="Leave out --year, or pass --date-format '%m%d' with it.",
            )
        if not 1970 <= year <= 2100:
            raise IngestError(f"--year {year} is outside 1970 .. 2100.")
        return
    if pattern and not has_year(str(choice)):
        raise IngestError(
            f"--date-format {choice!r} has no year (%Y or %y): every date would be read in 1900.",
            hint=f"Name the year of the data: --date-format {choice!r} --year 2015.",
        )
    if choice is None or choice in ("auto", *ORDERS) or pattern:
        return
    raise IngestError(
        f"--date-format {choice!r} is not a date order or a pattern.",
        hint="Pass dmy (31/12/2024), mdy (12/31/2024), or a strptime pattern such as "
        "'%d/%m/%Y %H:%M'.",
    )


def _check_day_numbers(choice: str | None, year: int | None, day_one: str | None) -> None:
    if choice != DAY_NUMBERS:
        raise IngestError(
            "--day-one is for times written as day numbers (Dunnhumby's DAY 1, 2, ...).",
            hint="Pass --date-format days with it, or leave out --day-one.",
        )
    if year is not None:
        raise IngestError(
            "--year is for dates written without a year, not for day numbers.",
            hint="Leave out --year; --day-one gives the date of day 1.",
        )
    if day_one is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day_one.strip()):
        raise IngestError(
            "--date-format days needs the date of day 1: the numbers alone do not say when "
            "the log began" + (f" ({day_one!r} is not an ISO date)." if day_one else "."),
            hint="Pass --day-one YYYY-MM-DD, e.g. --day-one 2012-01-01 (any date: the real "
            "one when known; weekdays and seasons follow from it).",
        )
    try:
        date.fromisoformat(day_one.strip())
    except ValueError:
        raise IngestError(f"--day-one {day_one!r} is not a calendar date.") from None


def counted_from(day_one: str) -> str:
    """The format of day numbers whose day 1 is ``day_one`` (``"days|2012-01-01"``)."""
    return f"{DAY_NUMBERS}|{day_one.strip()}"


def day_one_of(fmt: str) -> str | None:
    """The ISO date of day 1 of a format made by ``counted_from``, else None."""
    match = _DAYS_FROM.match(fmt)
    return match.group(1) if match else None


def in_year(pattern: str, year: int) -> str:
    """The format for a yearless ``pattern`` read in ``year`` (``"2015|%m%d"``)."""
    return f"{year}|{pattern}"


def yearless(fmt: str) -> tuple[int, str] | None:
    """``(year, pattern)`` of a format made by ``in_year``, else None."""
    match = _IN_YEAR.match(fmt)
    return (int(match.group(1)), match.group(2)) if match else None


def _patterns(order: str, separator: str, year: str) -> tuple[str, ...]:
    day_month = "%d{s}%m" if order == "dmy" else "%m{s}%d"
    date = day_month.format(s=separator) + separator + year
    return tuple(date + t for t in _TIMES)


def date_reading(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    choice: str | None,
    data_year: int | None = None,
) -> DateReading:
    """How ``column`` of ``relation`` (``_raw`` or its reader; VARCHAR timestamps) is read;
    ``data_year`` completes a pattern without a year (``--year``)."""
    label = column
    if choice is not None and "%" in choice:
        if data_year is not None and not has_year(choice):
            return DateReading(
                (in_year(choice, data_year),),
                f"{label} read as {choice} in the year {data_year}.",
            )
        return DateReading((choice,))
    q = quote_ident(column)
    sample = [
        str(v)
        for (v,) in con.execute(
            f"SELECT {q} FROM (SELECT {q} FROM {relation} LIMIT {_SAMPLE}) WHERE {q} IS NOT NULL"
        ).fetchall()
    ]
    matches = [m for v in sample if (m := _NUMERIC_DATE.match(v))]
    if not matches:
        return DateReading()
    match = matches[0]
    separator, year = match.group(2), "%Y" if len(match.group(4)) == 4 else "%y"
    if choice in ORDERS:
        return DateReading(_patterns(choice, separator, year))
    if separator == ".":
        return DateReading(
            _patterns("dmy", separator, year),
            f"{label} read as day.month.year (e.g. {match.group(0).strip()!r}).",
        )
    # the sample usually decides (a part above 12 on one side only): no scan of the file
    first = max(int(m.group(1)) for m in matches)
    second = max(int(m.group(3)) for m in matches)
    if (first > 12) != (second > 12):
        return _by_part(label, separator, year, first, second)
    return _guess_order(con, relation, q, label, separator, year)


def _by_part(label: str, separator: str, year: str, first: int, second: int) -> DateReading:
    """Day-first when a first part is above 12, else month-first (a second part is)."""
    if first > 12:
        return DateReading(
            _patterns("dmy", separator, year),
            f"{label} read as day/month/year: a first part is {first}, above 12.",
        )
    return DateReading(
        _patterns("mdy", separator, year),
        f"{label} read as month/day/year: a second part is {second}, above 12.",
    )


def _guess_order(
    con: duckdb.DuckDBPyConnection, relation: str, q: str, label: str, separator: str, year: str
) -> DateReading:
    """One scan of the column: the parts' maxima, and the span in days of each reading."""
    sep = re.escape(separator)
    pattern = rf"^\s*(\d{{1,2}}){sep}(\d{{1,2}}){sep}(\d{{2,4}})"
    row = con.execute(
        f"""
        WITH parts AS (
            SELECT TRY_CAST(regexp_extract(v, '{pattern}', 1) AS INT) AS a,
                   TRY_CAST(regexp_extract(v, '{pattern}', 2) AS INT) AS b,
                   TRY_CAST(regexp_extract(v, '{pattern}', 3) AS INT) AS y
            FROM (SELECT CAST({q} AS VARCHAR) AS v FROM {relation})
            WHERE regexp_matches(v, '{pattern}')
        ), dated AS (
            SELECT a, b, CASE WHEN y < 100 THEN 2000 + y ELSE y END AS y FROM parts
        )
        SELECT count(*) FILTER (WHERE a > 12), count(*) FILTER (WHERE b > 12), max(a), max(b),
               datediff('day', min(dmy), max(dmy)), datediff('day', min(mdy), max(mdy))
        FROM (
            SELECT a, b, try_strptime(a || '-' || b || '-' || y, '%d-%m-%Y') AS dmy,
                   try_strptime(a || '-' || b || '-' || y, '%m-%d-%Y') AS mdy
            FROM dated
        )
        WHERE a BETWEEN 1 AND 31 AND b BETWEEN 1 AND 31
        """
    ).fetchone()
    if row is None or row[2] is None:  # no value matched after all
        return DateReading()
    n_first, n_second, first, second, span_dmy, span_mdy = row
    if n_first and n_second:
        # a few typos (13/13/2024) are the rows to quarantine, not a reason to refuse the file
        if min(n_first, n_second) > 0.01 * max(n_first, n_second):
            raise IngestError(
                f"{label}: {n_first:,} values have a first part above 12 and {n_second:,} a "
                "second part above 12, so they are neither day/month nor month/day dates.",
                hint="Pass the pattern, e.g. --date-format '%d/%m/%Y %H:%M' (values it does "
                "not read are quarantined).",
            )
        if n_first > n_second:
            second = 12
        else:
            first = 12
    if first > 12 or second > 12:
        return _by_part(label, separator, year, first, second)
    if span_dmy is not None and span_mdy is not None and span_dmy < span_mdy:
        return DateReading(
            _patterns("dmy", separator, year),
            f"{label} read as day/month/year: no part is above 12, and that reading spans "
            f"{span_dmy} days against {span_mdy} month-first. Pass --date-format mdy if "
            "months come first.",
        )
    return DateReading(
        _patterns("mdy", separator, year),
        f"{label} read as month/day/year: no part is above 12 (that reading spans "
        f"{span_mdy} days, day-first {span_dmy}). Pass --date-format dmy if days come first.",
    )
