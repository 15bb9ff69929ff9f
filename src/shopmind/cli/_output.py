"""Shared CLI output: JSON or a readable table, errors without tracebacks, progress.

Every command that prints a result takes the one :data:`JsonOption` and prints through
:func:`emit`: ``--json`` gives one JSON document at full precision on stdout; without it the
command's own text (a ``render`` callable) or a readable table with rounded numbers.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopmind.jsonable import to_jsonable
from shopmind.numbers import plain_number

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

#: The one ``--json`` flag of every command that prints a result.
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document (full precision) instead of text."),
]


def emit(
    payload: Any,
    as_json: bool,
    render: Callable[[], object] | None = None,
    *,
    title: str | None = None,
) -> None:
    """Print a command's result: ``payload`` as one JSON document with ``as_json``; else
    ``render()`` (the command's text), or without one :func:`print_readable` of ``payload``
    under ``title``."""
    if as_json:
        print_json(payload)
    elif render is not None:
        render()
    else:
        print_readable(payload, title)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(payload), ensure_ascii=False) + "\n")


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    raw: bool = False,
) -> None:
    """A table for people: numbers through :func:`readable` (identifiers, years, sequence and
    line numbers as they are; ``raw``: every value as it is, e.g. ``shopmind sql``); a table
    wider than the terminal wraps its cells instead of cutting them short, so ids stay whole
    and can be copied."""
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    verbatim = [raw or _verbatim(c) for c in columns]
    for row in rows:
        table.add_row(
            *(
                "" if v is None else str(to_jsonable(v)) if keep else readable(to_jsonable(v))
                for v, keep in zip(row, verbatim, strict=False)
            )
        )
    stdout.print(table)


def print_matrix(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], fixed: int = 1
) -> int:
    """A wide matrix of short text cells (e.g. retention rates) compact, one line per row: the
    first ``fixed`` columns always, then as many of the others as the terminal fits. Returns
    how many columns were shown, so the caller can say which were left out."""
    shown = len(columns)
    while True:
        table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False)
        for i, column in enumerate(columns[:shown]):
            table.add_column(column, no_wrap=True, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row[:shown])
        unbounded = stdout.options.update_width(1_000_000)  # its natural width, not squeezed
        if shown <= fixed + 1 or stdout.measure(table, options=unbounded).maximum <= stdout.width:
            break
        shown -= 1
    stdout.print(table)
    return shown


#: Lower-case words that end a run-together id column name (``customerid``, ``stockid``).
_ID_OWNERS = (
    "user",
    "customer",
    "item",
    "order",
    "invoice",
    "session",
    "product",
    "stock",
    "event",
    "campaign",
    "person",
    "key",
    "device",
    "account",
)


def _verbatim(column: str) -> bool:
    """Columns whose numbers are names or positions, not quantities: ids (``user_id``,
    ``CustomerID``, ``customerid``; not ``paid``), years, codes, sequence and line numbers,
    epochs."""
    name = column.lower().strip()
    is_id = (
        re.search(r"(^|[^a-z0-9])ids?$", name) is not None  # id, user_id, "key id"
        or re.search(r"[a-z0-9](ID|Id)s?$", column.strip()) is not None  # CustomerID
        or any(name == f"{owner}id" or name == f"{owner}ids" for owner in _ID_OWNERS)
    )
    return (
        is_id
        or name in {"year", "code", "zip", "zip_code", "seq", "line", "entry", "version"}
        or "year" in name
        or "epoch" in name
    )


def readable(value: Any) -> str:
    """A value for people: thousands separators, floats to cents from 1 up (money keeps its
    cents) and to 4 significant digits below 1 (rates), nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:,.2f}" if abs(value) >= 1 else plain_number(value)
    return str(to_jsonable(value))


def inline(mapping: Mapping[str, Any], sep: str = " ") -> str:
    """A small mapping on one line for people: ``churned 1,454, active 2,885``."""
    return ", ".join(f"{k}{sep}{readable(to_jsonable(v))}" for k, v in mapping.items())


def print_readable(payload: Any, title: str | None = None) -> None:
    """A default text face: a mapping as name | value rows (nested mappings flattened with
    dots), a list of mappings as a table with their keys as columns, anything else as is."""
    if isinstance(payload, Mapping):
        rows = [[name, readable(value)] for name, value in _flat(payload)]
        print_table(title, ["name", "value"], rows)
    elif isinstance(payload, list | tuple) and all(isinstance(r, Mapping) for r in payload):
        columns = list(dict.fromkeys(k for r in payload for k in r))
        print_table(title, columns, [[readable(r.get(c)) for c in columns] for r in payload])
    else:
        stdout.print(readable(payload), highlight=False)


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, value in mapping.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one paragraph to stderr; return the Exit to raise."""
    print_error(message)
    return typer.Exit(code)


def print_error(line: str, payload: dict[str, Any] | None = None) -> None:
    """``error: line`` on stderr; with ``payload`` (``--json`` given) that JSON object on
    stdout too, so a caller parsing stdout always gets one JSON document."""
    if payload is not None:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    stderr.print(f"[bold red]error:[/] {escape(line)}", highlight=False)


@contextmanager
def stage_progress(description: str, enabled: bool) -> Iterator[Any]:
    """A spinner with the current stage on stderr; a no-op callback when disabled."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _stage: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda stage: progress.update(task, description=f"{description}: {stage}")
