"""Reading the tabular files that CLI commands take: delimited text (the delimiter guessed
from the header line), JSON lines or a JSON array of records, or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from shopmind.errors import ShopmindError

_JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}


def read_table(path: Path) -> pd.DataFrame:
    """A file as a data frame. Text that is not UTF-8 is read as Windows-1252 (every byte
    but five has a meaning there), with a note on stderr."""
    if not path.exists():
        raise ShopmindError(f"File not found: {path}.", hint="Check the path.")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if suffix in _JSON_SUFFIXES:
            return _read_json(path)
        return _read_text(path)
    except ShopmindError:
        raise
    except Exception as exc:
        raise ShopmindError(
            f"Cannot read {path}: {exc}.",
            hint="Use a CSV/TSV with a header, JSON lines or Parquet.",
        ) from exc


def _read_json(path: Path) -> pd.DataFrame:
    with path.open("rb") as handle:
        first = handle.read(4096).lstrip()
    if first.startswith(b"["):  # one array of records
        return pd.read_json(path, orient="records", dtype=False)
    return pd.read_json(path, lines=True, dtype=False)


def _read_text(path: Path) -> pd.DataFrame:
    from shopmind.ingest.extract import guess_delimiter

    sep = guess_delimiter(path)
    # the C parser for one-character delimiters (the Python one is ~10x slower)
    engine: Literal["c", "python"] = "c" if len(sep) == 1 else "python"
    try:
        return pd.read_csv(path, sep=sep, engine=engine, encoding="utf-8-sig")
    except UnicodeDecodeError:
        import sys

        print(
            f"note: {path.name} is not UTF-8 text; read as Windows-1252 (cp1252).",
            file=sys.stderr,
        )
        return pd.read_csv(
            path, sep=sep, engine=engine, encoding="cp1252", encoding_errors="replace"
        )
