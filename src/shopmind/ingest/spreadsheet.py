"""Spreadsheets (``.xlsx``, ``.xlsm``, ``.xls``, ``.xlsb``, ``.ods``) as a CSV copy that the
text path then loads like any export.

Read with calamine (python-calamine, a Rust reader: no Excel needed). Cells are written as
text the validators read: whole numbers without ``.0`` (Excel stores every number as a float,
so customer 17850 arrives as 17850.0), other numbers in their shortest exact form, date-times
as ISO ``2010-12-01 08:26:00`` (naive: the format's or ``--timezone``'s zone applies), booleans
as ``true``/``false``. The header that most rows share decides the layout (a cover or notes
sheet does not), and every sheet with it is read, in order (UCI Online Retail II keeps one
year per sheet); others are skipped and named in the report. ``--sheet NAME`` reads one
sheet only. Empty rows stay as empty lines, so the copy's line numbers are the sheet's row
numbers for the first sheet read.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopmind.errors import IngestError

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}


@dataclass
class SheetCopy:
    """The CSV written and what the report should say about the sheets."""

    path: Path
    sheets: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """Report lines: which sheets were read as one file, which were left out."""
        out = []
        if len(self.sheets) > 1:
            out.append(
                f"read sheets {', '.join(self.sheets)} as one file (same columns); quarantine "
                "row numbers count on from one sheet to the next"
            )
        if self.skipped:
            out.append(
                f"sheets left out (other columns or empty): {', '.join(self.skipped)}; "
                "--sheet NAME reads one sheet"
            )
        return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():  # an id stored as a number: its digits, never 1.2e+16
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _header(rows: list[list[Any]]) -> tuple[str, ...]:
    """The first row's names, without the empty cells a wider used range adds on the right."""
    names = [_cell(v).strip() for v in rows[0]] if rows else []
    while names and not names[-1]:
        names.pop()
    return tuple(names)


def spreadsheet_to_csv(path: Path, workdir: Path, sheet: str | None = None) -> SheetCopy:
    """Write ``workdir/sheet.csv`` from the workbook at ``path`` (see the module text)."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types per format
        raise IngestError(
            f"Cannot read the spreadsheet {path}: {exc}.",
            file=str(path),
            hint="Check that the file opens in a spreadsheet program, or export it as CSV.",
        ) from exc
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        raise IngestError(
            f"No sheet {sheet!r} in {path.name}.",
            file=str(path),
            hint=f"Sheets: {', '.join(names)}.",
        )
    chosen = [sheet] if sheet is not None else names
    read = {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in chosen}
    # the columns most rows share (a cover or notes sheet does not decide the layout)
    rows_per_header: dict[tuple[str, ...], int] = {}
    for rows in read.values():
        if rows:
            key = _header(rows)
            rows_per_header[key] = rows_per_header.get(key, 0) + len(rows) - 1
    header = max(rows_per_header, key=lambda k: rows_per_header[k]) if rows_per_header else None
    copy = SheetCopy(workdir / "sheet.csv")
    with copy.path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        for name, rows in read.items():
            if not rows or header is None or _header(rows) != header:
                copy.skipped.append(name)
                continue
            copy.sheets.append(name)
            width = len(header)
            for row in rows[1:]:
                cells = [_cell(v) for v in row]
                if not any(cells):
                    handle.write("\n")  # an empty row stays an empty line
                    continue
                if any(cells[width:]):  # values beyond the header: the row is quarantined
                    writer.writerow(cells)
                else:
                    writer.writerow(cells[:width] + [""] * (width - len(cells)))
    if header is None:
        raise IngestError(
            f"{path.name} has no rows in {'sheet ' + repr(sheet) if sheet else 'any sheet'}.",
            file=str(path),
            hint="Check the workbook, or pass --sheet NAME.",
        )
    return copy
