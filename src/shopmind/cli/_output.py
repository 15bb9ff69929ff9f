"""Shared CLI output: JSON or a readable table, errors without tracebacks, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopmind.jsonable import to_jsonable

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(payload), ensure_ascii=False) + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(to_jsonable(v)) for v in row))
    stdout.print(table)


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
