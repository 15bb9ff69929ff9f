"""Extract: read a source file into DuckDB temporary tables, losing no line.

``_raw`` holds one row per parsed record with ``_row`` (1-based record number) and the
source columns; ``_rejects`` holds the records the reader could not parse (bad encoding,
wrong number of fields) with the raw line and the reason. Temporary tables live in memory,
never in the workspace file, so raw identifiers are not written to disk.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from shopmind.errors import IngestError

TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".dat", ".inter", ".tab"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}


@dataclass(frozen=True)
class ReaderSpec:
    """How a format's files are read.

    kind: 'table' (CSV/TSV/Parquet/JSON lines chosen by suffix), 'lines' (one VARCHAR column
    ``line`` per text line) or 'whitespace' (lines split on runs of blanks into col1..colN).
    """

    kind: str = "table"
    delimiter: str | None = None
    header: bool | None = None
    column_names: tuple[str, ...] = ()
    skip_header_like: str | None = None  # 'whitespace': drop a first line matching this regex


@dataclass
class Extracted:
    columns: dict[str, str]  # source column -> DuckDB type
    rows_parsed: int
    rows_rejected: int
    delimiter: str = ","
    warnings: list[str] = field(default_factory=list)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def extract(con: duckdb.DuckDBPyConnection, path: Path, spec: ReaderSpec) -> Extracted:
    """Create ``_raw`` and ``_rejects`` for ``path``; raise IngestError when unreadable."""
    if not path.exists():
        raise IngestError(f"File not found: {path}.", file=str(path), hint="Check the path.")
    if path.is_dir():
        raise IngestError(f"{path} is a directory.", file=str(path), hint="Pass one file.")
    if path.stat().st_size == 0:
        raise IngestError(
            f"{path} is empty (0 bytes): nothing to load.", file=str(path), hint="Check the export."
        )
    con.execute("DROP TABLE IF EXISTS _raw; DROP TABLE IF EXISTS _rejects")
    con.execute("CREATE TEMP TABLE _rejects (_row BIGINT, raw VARCHAR, reason VARCHAR)")
    suffix = path.suffix.lower()
    try:
        if spec.kind == "lines":
            extracted = _read_lines(con, path)
        elif spec.kind == "whitespace":
            extracted = _read_whitespace(con, path, spec)
        elif suffix in PARQUET_SUFFIXES:
            extracted = _read_parquet(con, path)
        elif suffix in JSONL_SUFFIXES:
            extracted = _read_jsonl(con, path)
        else:
            extracted = _read_csv(con, path, spec)
    except duckdb.Error as exc:
        raise IngestError(
            f"Cannot read {path}: {_first_line(exc)}",
            file=str(path),
            hint="Check that the file is CSV/TSV (UTF-8), Parquet or JSON lines, "
            "and that --format matches it.",
        ) from exc
    return extracted


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {r[0]: r[1] for r in rows if r[0] != "_row"}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, spec: ReaderSpec) -> Extracted:
    """Delimited text without DuckDB's sniffer: the dialect is fixed (RFC 4180 quotes, the
    delimiter guessed from the header line), so one broken line cannot derail the file."""
    delimiter = spec.delimiter or ("\t" if path.suffix.lower() in {".tsv", ".tab"} else None)
    delimiter = delimiter or guess_delimiter(path)
    has_header = spec.header is not False
    names = list(spec.column_names) or _header_names(path, delimiter)
    if not has_header and not spec.column_names:
        names = [f"column{i}" for i in range(len(names))]
    columns = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names)
    options = [
        "auto_detect = false",
        f"header = {str(has_header).lower()}",
        f"delim = {quote_literal(delimiter)}",
        "quote = '\"'",
        "escape = '\"'",
        f"columns = {{{columns}}}",
        "null_padding = false",
        "strict_mode = true",
    ]
    _scan_with_rejects(con, f"read_csv({quote_literal(str(path))}, {', '.join(options)})")
    _renumber_to_physical_lines(con, 1 if has_header else 0)
    return Extracted(_columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"), delimiter)


def _header_names(path: Path, delimiter: str) -> list[str]:
    """Column names from the first line; blanks and repeats made unique."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline()
    row = next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter), [])
    names: list[str] = []
    for i, raw in enumerate(row):
        name = raw.strip() or f"column{i}"
        if name.startswith("_"):  # leading underscores are reserved for staging columns
            name = "col" + name
        while name in names:
            name = f"{name}_{i}"
        names.append(name)
    if not names:
        raise IngestError(
            f"{path} has no header line.",
            file=str(path),
            hint="The first line must name the columns.",
        )
    return names


def guess_delimiter(path: Path) -> str:
    """The most frequent of , TAB ; | in the first line (quoted parts ignored)."""
    with path.open("rb") as handle:
        head = handle.read(65536).decode("utf-8", errors="replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    unquoted = first.split('"')[::2]
    counts = {d: sum(part.count(d) for part in unquoted) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _scan_with_rejects(con: duckdb.DuckDBPyConnection, scan: str) -> None:
    """``_raw`` from a read_csv call; unparseable lines go to ``_rejects`` (physical line no.)."""
    con.execute("DROP TABLE IF EXISTS _rej_err; DROP TABLE IF EXISTS _rej_scan")
    scan = (
        scan[:-1] + ", store_rejects = true, rejects_table = '_rej_err', "
        "rejects_scan = '_rej_scan')"
    )
    con.execute(f"CREATE TEMP TABLE _raw AS SELECT row_number() OVER () AS _row, * FROM {scan}")
    con.execute(
        "INSERT INTO _rejects SELECT line, trim(any_value(csv_line), chr(10) || chr(13)), "
        "'unreadable line: ' || string_agg(DISTINCT lower(CAST(error_type AS VARCHAR)), '; ') "
        "FROM _rej_err GROUP BY line"
    )


def _renumber_to_physical_lines(con: duckdb.DuckDBPyConnection, header_lines: int) -> None:
    """Turn ``_row`` (n-th parsed record) into the physical line number, skipping rejects."""
    if _count(con, "_rejects") == 0:
        if header_lines:
            con.execute(f"UPDATE _raw SET _row = _row + {header_lines}")
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        WITH rj AS (SELECT _row - {header_lines} - row_number() OVER (ORDER BY _row) AS good_before,
                           row_number() OVER (ORDER BY _row) AS n FROM _rejects),
             shift AS (SELECT good_before, max(n) AS n FROM rj GROUP BY good_before)
        SELECT r._row + {header_lines} + coalesce(s.n, 0) AS _row, r.* EXCLUDE (_row)
        FROM _raw r ASOF LEFT JOIN shift s ON r._row > s.good_before
        ORDER BY 1
        """
    )


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Extracted:
    con.execute(
        "CREATE TEMP TABLE _raw AS SELECT row_number() OVER () AS _row, * "
        f"FROM read_parquet({quote_literal(str(path))})"
    )
    return Extracted(_columns(con, "_raw"), _count(con, "_raw"), 0)


def _read_text_lines(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Every physical line as one VARCHAR value (no quoting, no delimiter), in file order."""
    _scan_with_rejects(
        con,
        f"read_csv({quote_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, header = false, "
        "delim = chr(31), quote = '', escape = '', strict_mode = false, null_padding = true)",
    )
    _renumber_to_physical_lines(con, 0)
    if table != "_raw":
        con.execute(f"ALTER TABLE _raw RENAME TO {table}")


def _read_lines(con: duckdb.DuckDBPyConnection, path: Path) -> Extracted:
    _read_text_lines(con, path, "_raw")
    return Extracted({"line": "VARCHAR"}, _count(con, "_raw"), _count(con, "_rejects"), "\n")


def _read_whitespace(con: duckdb.DuckDBPyConnection, path: Path, spec: ReaderSpec) -> Extracted:
    _read_text_lines(con, path, "_lines")
    if spec.skip_header_like:
        con.execute(
            "DELETE FROM _lines WHERE _row = 1 AND regexp_matches(line, "
            f"{quote_literal(spec.skip_header_like)})"
        )
    row = con.execute(
        "SELECT coalesce(max(len(regexp_split_to_array(trim(line), '\\s+'))), 0) FROM _lines"
    ).fetchone()
    width = int(row[0]) if row else 0
    names = list(spec.column_names) or [f"col{i + 1}" for i in range(width)]
    parts = ", ".join(
        f"regexp_split_to_array(trim(line), '\\s+')[{i + 1}] AS {quote_ident(n)}"
        for i, n in enumerate(names)
    )
    con.execute(
        f"CREATE TEMP TABLE _raw AS SELECT _row, {parts}, "
        "len(regexp_split_to_array(trim(line), '\\s+')) AS _fields, line AS _line FROM _lines"
    )
    con.execute("DROP TABLE _lines")
    return Extracted(_columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"), " ")


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> Extracted:
    """JSON lines: each line parsed on its own, so one bad line is quarantined, not fatal."""
    _read_text_lines(con, path, "_lines")
    con.execute("DELETE FROM _lines WHERE line IS NULL OR trim(line) = ''")
    con.execute(
        "INSERT INTO _rejects SELECT _row, line, 'not a JSON object' FROM _lines "
        "WHERE NOT coalesce(json_valid(line), false) OR json_type(line) <> 'OBJECT'"
    )
    con.execute("DELETE FROM _lines WHERE _row IN (SELECT _row FROM _rejects)")
    keys = [
        r[0]
        for r in con.execute(
            "SELECT k FROM (SELECT unnest(json_keys(line)) AS k, min(_row) AS first "
            "FROM _lines GROUP BY k) ORDER BY first"
        ).fetchall()
    ]
    if not keys:
        raise IngestError(
            f"{path} holds no JSON object with any field.",
            file=str(path),
            hint='Each line must be a JSON object such as {"user_id": "u1", ...}.',
        )
    parts = ", ".join(
        f"json_extract_string(line, {quote_literal('$.' + _json_path_key(k))}) AS {quote_ident(k)}"
        for k in keys
    )
    con.execute(f"CREATE TEMP TABLE _raw AS SELECT _row, {parts} FROM _lines")
    con.execute("DROP TABLE _lines")
    return Extracted(_columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"))


def _json_path_key(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'
