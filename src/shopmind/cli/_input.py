"""Reading the tabular files that CLI commands take (CSV with any delimiter, or Parquet)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopmind.errors import ShopmindError


def read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ShopmindError(f"File not found: {path}.", hint="Check the path.")
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=None, engine="python")
    except Exception as exc:
        raise ShopmindError(
            f"Cannot read {path}: {exc}.", hint="Use a CSV (with header) or Parquet file."
        ) from exc
