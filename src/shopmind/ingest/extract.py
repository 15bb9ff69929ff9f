"""Extract: read a source file into DuckDB temporary tables, losing no line.

``_raw`` holds one row per parsed record with ``_row`` (the physical line number where the
record starts) and the source columns; ``_rejects`` holds the records the reader could not
parse (bad encoding, wrong number of fields, unclosed quote) with the raw text (invalid bytes
escaped, see :func:`~shopmind.ingest.textscan.escape_bytes`), the reason and, when the record
can be split in the dialect of good rows, its fields. Temporary tables live in memory (spills
go to the load's private temporary folder), never in the workspace file.

Paths are taken literally: a file called ``x?.csv`` is read through a link with a plain name,
so DuckDB never expands it as a glob pattern.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from shopmind.errors import IngestError
from shopmind.ingest.spreadsheet import SPREADSHEET_SUFFIXES
from shopmind.ingest.textscan import (
    Record,
    TextScan,
    clean_copy,
    escape_bytes,
    lines_at,
    parse_fields,
    scan_text,
    split_records,
)

if TYPE_CHECKING:
    import pyarrow as pa

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
    splittable: bool = True  # rejected lines can be split into fields like good ones
    typical_fields: int = 0  # whitespace files: the most common number of fields per line
    # ``_raw`` is a view over the reader (nothing materialised; rows_parsed not counted):
    # a read error while using it means "extract again with stream=False"
    streamed: bool = False
    reader: str = ""  # streamed: the reader call the view selects from
    first_row: int = 1  # streamed: ``_row`` of the first record (after a header line)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_GLOB_CHARS = set("*?[]{}")


def literal_path(path: Path, workdir: Path | None) -> Path:
    """A path DuckDB reads as exactly this one file: absolute, and through a link in the
    private ``workdir`` when the name holds glob characters (``*?[]{}``) or a ``~``."""
    resolved = path.resolve()
    if not (_GLOB_CHARS & set(str(resolved)) or "~" in str(resolved)):
        return resolved
    if workdir is None:
        raise IngestError(
            f"{path}: a file name with glob characters needs a private work folder.",
            file=str(path),
        )
    link = workdir / ("source" + "".join(c for c in path.suffix if c.isalnum() or c == "."))
    link.unlink(missing_ok=True)
    os.symlink(resolved, link)
    return link


def reads_delimited_text(path: Path, spec: ReaderSpec) -> bool:
    """Whether :func:`extract` reads ``path`` as delimited text (and scans its lines first);
    a spreadsheet is read through a CSV copy, scanned when it is written."""
    suffix = path.suffix.lower()
    other_readers = PARQUET_SUFFIXES | JSONL_SUFFIXES | SPREADSHEET_SUFFIXES
    return spec.kind == "table" and suffix not in other_readers


def extract(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    spec: ReaderSpec,
    workdir: Path | None = None,
    scan: TextScan | None = None,
    *,
    stream: bool = False,
) -> Extracted:
    """Create ``_raw`` and ``_rejects`` for ``path``; raise IngestError when unreadable.

    ``workdir``: a private folder for links (see :func:`literal_path`); ``scan``: the
    line scan of a delimited text file when the caller already made it (with the hash).

    ``stream``: for a Parquet file, or a delimited text file without empty lines or odd
    quotes, make ``_raw`` a view over the strict reader instead of a table, so the next step
    reads the file straight (see :attr:`Extracted.streamed`)."""
    if not path.exists():
        raise IngestError(f"File not found: {path}.", file=str(path), hint="Check the path.")
    if path.is_dir():
        raise IngestError(f"{path} is a directory.", file=str(path), hint="Pass one file.")
    if path.stat().st_size == 0:
        raise IngestError(
            f"{path} is empty (0 bytes): nothing to load.", file=str(path), hint="Check the export."
        )
    drop_raw(con)
    con.execute("DROP TABLE IF EXISTS _rejects")
    con.execute(
        "CREATE TEMP TABLE _rejects (_row BIGINT, raw VARCHAR, reason VARCHAR, fields VARCHAR[])"
    )
    suffix = path.suffix.lower()
    source = literal_path(path, workdir)
    try:
        streamed = _stream(con, path, source, spec, scan) if stream else None
        if streamed is not None:
            extracted = streamed
        elif spec.kind == "lines":
            extracted = _read_lines(con, path, source)
        elif spec.kind == "whitespace":
            extracted = _read_whitespace(con, path, source, spec)
        elif suffix in PARQUET_SUFFIXES:
            extracted = _read_parquet(con, path, source)
        elif suffix in JSONL_SUFFIXES:
            extracted = _read_jsonl(con, path, source)
        else:
            extracted = _read_csv(con, path, source, spec, workdir, scan)
    except duckdb.Error as exc:
        raise IngestError(
            f"Cannot read {path}: {_first_line(exc)}",
            file=str(path),
            hint="Check that the file is CSV/TSV (UTF-8), Parquet or JSON lines, "
            "and that --format matches it.",
        ) from exc
    return extracted


def drop_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``_raw``, a table or a view."""
    kinds = con.execute(
        "SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = '_raw' UNION ALL "
        "SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = '_raw'"
    ).fetchall()
    for (kind,) in kinds:
        con.execute(f"DROP {kind} _raw")


def _stream(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    spec: ReaderSpec,
    scan: TextScan | None,
) -> Extracted | None:
    """``_raw`` as a view over the reader when no line needs the exact path, else None.

    The CSV view reads in strict mode without a rejects table: a bad line is a read error,
    and the caller extracts again the exact way (physical line numbers, quarantined lines).
    """
    suffix = path.suffix.lower()
    if spec.kind != "table" or suffix in JSONL_SUFFIXES:
        return None
    if suffix in PARQUET_SUFFIXES:
        reader = f"read_parquet({quote_literal(str(source))})"
        # DuckDB scans one row group per thread: a file of few row groups is validated
        # faster from a materialised copy (all threads) than streamed on one thread
        try:
            groups = con.execute(
                "SELECT count(DISTINCT row_group_id) "
                f"FROM parquet_metadata({quote_literal(str(source))})"
            ).fetchone()
        except duckdb.Error:  # e.g. statistics out of the timestamp range: the exact path
            return None
        threads = con.execute("SELECT current_setting('threads')").fetchone()
        if not groups or not threads or int(groups[0]) < max(2, int(threads[0])):
            return None
        con.execute(
            f"CREATE TEMP VIEW _raw AS SELECT row_number() OVER () AS _row, * FROM {reader}"
        )
        return Extracted(_columns(con, "_raw"), -1, 0, streamed=True, reader=reader)
    delimiter = spec.delimiter or ("\t" if suffix in {".tsv", ".tab"} else None)
    delimiter = delimiter or guess_delimiter(path)
    has_header = spec.header if spec.header is not None else sniff_header(path, delimiter)
    header_lines = 1 if has_header else 0
    scan = scan or scan_text(path)
    # invalid UTF-8 in more than one field of a line can crash DuckDB's strict reader (a
    # fatal error that invalidates the connection): such files take the exact path
    if scan.odd_quote_lines or scan.not_utf8 or any(b > header_lines for b in scan.blank_lines):
        return None
    names = list(spec.column_names) or _header_names(path, delimiter)
    if not has_header and not spec.column_names:
        names = [f"column{i}" for i in range(len(names))]
    names = [n.replace("\x00", "\ufffd") for n in names]
    columns = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names)
    options = ", ".join(_csv_options(has_header, delimiter, columns))
    reader = f"read_csv({quote_literal(str(source))}, {options})"
    con.execute(
        f"CREATE TEMP VIEW _raw AS SELECT row_number() OVER () + {header_lines} AS _row, * "
        f"FROM {reader}"
    )
    return Extracted(
        _columns(con, "_raw"),
        -1,
        0,
        delimiter,
        streamed=True,
        reader=reader,
        first_row=header_lines + 1,
    )


@contextmanager
def unnumbered_raw(con: duckdb.DuckDBPyConnection, extracted: Extracted) -> Iterator[None]:
    """Inside: a streamed ``_raw`` without record numbers (``_row`` NULL), so the statement
    that reads it runs on all threads (numbering rows in a window runs on one). The order
    of a CREATE TABLE AS is kept, so :func:`number_rows` numbers the result afterwards."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _raw AS SELECT NULL::BIGINT AS _row, * "
        f"FROM {extracted.reader}"
    )
    try:
        yield
    finally:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _raw AS SELECT row_number() OVER () + "
            f"{extracted.first_row - 1} AS _row, * FROM {extracted.reader}"
        )


def number_rows(con: duckdb.DuckDBPyConnection, table: str, extracted: Extracted) -> None:
    """``_row`` of a table made in file order from an unnumbered ``_raw``."""
    con.execute(f"UPDATE {table} SET _row = rowid + {extracted.first_row}")


def _csv_options(has_header: bool, delimiter: str, columns: str) -> list[str]:
    """The fixed dialect of delimited text (RFC 4180 quotes, no sniffing, strict)."""
    return [
        "auto_detect = false",
        f"header = {str(has_header).lower()}",
        f"delim = {quote_literal(delimiter)}",
        "quote = '\"'",
        "escape = '\"'",
        f"columns = {{{columns}}}",
        "null_padding = false",
        "strict_mode = true",
    ]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {r[0]: r[1] for r in rows if r[0] != "_row"}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    spec: ReaderSpec,
    workdir: Path | None = None,
    scan: TextScan | None = None,
) -> Extracted:
    """Delimited text without DuckDB's sniffer: the dialect is fixed (RFC 4180 quotes, the
    delimiter guessed from the header line), so one broken line cannot derail the file.

    Files where a line has an odd number of quotes (multi-line records, broken quotes) are
    first rewritten to a private copy with the same physical lines (multi-line records that
    parse joined onto their first line, lines that start no good record emptied and
    quarantined: :func:`~shopmind.ingest.textscan.clean_copy`); without a work folder they
    are split record by record in Python. Either way DuckDB's line numbers stay physical."""
    delimiter = spec.delimiter or ("\t" if path.suffix.lower() in {".tsv", ".tab"} else None)
    delimiter = delimiter or guess_delimiter(path)
    has_header = spec.header if spec.header is not None else sniff_header(path, delimiter)
    names = list(spec.column_names) or _header_names(path, delimiter)
    if not has_header and not spec.column_names:
        names = [f"column{i}" for i in range(len(names))]
    header_lines = 1 if has_header else 0
    scan = scan or scan_text(path)
    cleaned = None
    if scan.odd_quote_lines and workdir is None:
        _read_csv_exact(con, path, delimiter, names, header_lines)
        return Extracted(
            _columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"), delimiter
        )
    if scan.odd_quote_lines:
        assert workdir is not None
        source = workdir / "clean.csv"
        cleaned = clean_copy(path, source, delimiter, len(names), header_lines)
    # a NUL ends a string in DuckDB's SQL parser: name such columns with U+FFFD instead
    names = [n.replace("\x00", "\ufffd") for n in names]
    columns = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names)
    options = _csv_options(has_header, delimiter, columns)
    _scan_with_rejects(con, f"read_csv({quote_literal(str(source))}, {', '.join(options)})")
    _exact_rejects(con, path, lambda text: parse_fields(text, delimiter))
    blanks = scan.blank_lines
    if cleaned is not None:
        _insert_rejects(
            con,
            [
                (r.line, escape_bytes(r.raw), f"unreadable line: {r.reason}", r.fields)
                for r in cleaned.rejects
            ],
        )
        blanks = sorted(blanks + cleaned.continuation)
        source.unlink()
    _renumber_to_physical_lines(con, header_lines, blanks)
    if cleaned is not None and cleaned.newline is not None:
        mark = quote_literal(cleaned.newline)
        for name in names:
            q = quote_ident(name)
            con.execute(
                f"UPDATE _raw SET {q} = replace({q}, {mark}, chr(10)) WHERE contains({q}, {mark})"
            )
    return Extracted(_columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"), delimiter)


def _read_csv_exact(
    con: duckdb.DuckDBPyConnection, path: Path, delimiter: str, names: list[str], header: int
) -> None:
    """``_raw`` and ``_rejects`` from the quote-aware record splitter."""
    import pyarrow as pa  # the exact paths only (start-up time)

    good: list[Record] = []
    bad: list[Record] = []
    for record in split_records(path, delimiter, len(names), header):
        (good if record.reason is None else bad).append(record)
    columns: dict[str, pa.Array] = {"_row": pa.array([r.line for r in good], pa.int64())}
    for i, name in enumerate(names):
        values = [r.fields[i] if r.fields is not None else None for r in good]
        columns[name] = pa.array([v if v != "" else None for v in values], pa.string())
    con.register("_exact_raw", pa.table(columns))
    try:
        con.execute("CREATE TEMP TABLE _raw AS SELECT * FROM _exact_raw ORDER BY _row")
    finally:
        con.unregister("_exact_raw")
    _insert_rejects(
        con,
        [(r.line, escape_bytes(r.raw), f"unreadable line: {r.reason}", r.fields) for r in bad],
    )


def _insert_rejects(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, str, list[str] | None]]
) -> None:
    if not rows:
        return
    import pyarrow as pa

    table = pa.table(
        {
            "_row": pa.array([r[0] for r in rows], pa.int64()),
            "raw": pa.array([r[1] for r in rows], pa.string()),
            "reason": pa.array([r[2] for r in rows], pa.string()),
            "fields": pa.array([r[3] for r in rows], pa.list_(pa.string())),
        }
    )
    con.register("_new_rejects", table)
    try:
        con.execute("INSERT INTO _rejects SELECT * FROM _new_rejects")
    finally:
        con.unregister("_new_rejects")


def _exact_rejects(
    con: duckdb.DuckDBPyConnection, path: Path, split: Callable[[str], list[str]] | None
) -> None:
    """Replace the reader's copy of each rejected line (invalid bytes shown as '?') by the
    exact bytes, escaped, and the fields they split into (``split`` None: not splittable)."""
    rows = con.execute("SELECT _row, reason FROM _rejects ORDER BY _row").fetchall()
    if not rows:
        return
    raw = lines_at(path, [int(r[0]) for r in rows])
    fixed = []
    for line, reason in rows:
        data = raw.get(int(line), b"")
        if int(line) == 1:
            data = data.removeprefix(b"\xef\xbb\xbf")
        text = escape_bytes(data)
        fields = None
        if split is not None:
            try:
                fields = split(text)
            except csv.Error:
                fields = None
        fixed.append((int(line), text, str(reason), fields))
    con.execute("DELETE FROM _rejects")
    _insert_rejects(con, fixed)


def _header_names(path: Path, delimiter: str) -> list[str]:
    """Column names from the first line; blanks and repeats made unique."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline()
    row = _split(first.rstrip("\r\n"), delimiter)
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


_NUMBER_FIELD = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TIME_FIELD = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d|$)|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")


def _field_kind(value: str) -> str | None:
    """'number', 'time' or 'text' of one field (None when empty)."""
    value = value.strip().strip('"')
    if not value:
        return None
    if _NUMBER_FIELD.match(value):
        return "number"
    return "time" if _TIME_FIELD.match(value) else "text"


def sniff_header(path: Path, delimiter: str, lines: int = 50) -> bool:
    """Whether the first line names the columns (the idea of ``csv.Sniffer.has_header``).

    A header: a text field over a column of numbers or times below; otherwise a first line
    of numbers and times only is data (MovieLens ``u.data``, YOOCHOOSE clicks), and one with
    text fields is data only when one of those values recurs in its column below (a user id
    or event type, not a column name). A single line is data when it holds no text."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        head = [line.rstrip("\r\n") for _, line in zip(range(lines), handle, strict=False)]
    rows = [_split(line, delimiter) for line in head if line.strip()]
    if not rows:
        return True
    first = [_field_kind(v) for v in rows[0]]
    if len(rows) < 2:
        return "text" in first or not any(first)
    texts = []
    for col, kind in enumerate(first):
        seen = [k for k in (_field_kind(r[col]) for r in rows[1:] if col < len(r)) if k]
        usual = max(sorted(set(seen)), key=seen.count) if seen else None
        if kind == "text" and usual in ("number", "time"):  # a name over typed values
            return True
        if kind == "text":
            texts.append(col)
    if not texts:
        return not any(first)
    below = [{r[col].strip() for r in rows[1:] if col < len(r)} for col in texts]
    return not any(rows[0][col].strip() in values for col, values in zip(texts, below, strict=True))


def _split(line: str, delimiter: str) -> list[str]:
    if len(delimiter) > 1:
        return line.split(delimiter)
    return next(csv.reader([line], delimiter=delimiter), [])


def guess_delimiter(path: Path) -> str:
    """The most frequent of , TAB ; | in the first line (quoted parts ignored), or ``::``
    (MovieLens-1M ``ratings.dat``) when the line holds none of them."""
    with path.open("rb") as handle:
        head = handle.read(65536).decode("utf-8", errors="replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    unquoted = first.split('"')[::2]
    if "::" in first and not any(d in first for d in (",", "\t", ";", "|")):
        return "::"
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
        "|| CASE WHEN bool_or(error_type = 'TOO MANY COLUMNS' OR error_type = 'MISSING COLUMNS')"
        " THEN ' (' || any_value(error_message) || ')' ELSE '' END, NULL "
        "FROM _rej_err GROUP BY line"
    )


def _renumber_to_physical_lines(
    con: duckdb.DuckDBPyConnection, header_lines: int, blank_lines: list[int] | None = None
) -> None:
    """Turn ``_row`` (n-th parsed record) into the physical line number: the header, empty
    lines (which the reader skips) and rejected lines are the lines that are not records."""
    import pyarrow as pa  # the exact paths only (start-up time)

    blanks = [b for b in blank_lines or [] if b > header_lines]
    if _count(con, "_rejects") == 0 and not blanks:
        if header_lines:
            con.execute(f"UPDATE _raw SET _row = _row + {header_lines}")
        return
    con.execute("CREATE OR REPLACE TEMP TABLE _skipped (line BIGINT)")
    if blanks:
        con.register("_blank_lines", pa.table({"line": pa.array(blanks, pa.int64())}))
        try:
            con.execute("INSERT INTO _skipped SELECT line FROM _blank_lines")
        finally:
            con.unregister("_blank_lines")
    con.execute("INSERT INTO _skipped SELECT _row FROM _rejects")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        WITH rj AS (SELECT line - {header_lines} - row_number() OVER (ORDER BY line)
                           AS good_before,
                           row_number() OVER (ORDER BY line) AS n FROM _skipped),
             shift AS (SELECT good_before, max(n) AS n FROM rj GROUP BY good_before)
        SELECT r._row + {header_lines} + coalesce(s.n, 0) AS _row, r.* EXCLUDE (_row)
        FROM _raw r ASOF LEFT JOIN shift s ON r._row > s.good_before
        ORDER BY 1
        """
    )
    con.execute("DROP TABLE _skipped")


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: Path) -> Extracted:
    try:
        con.execute(
            "CREATE TEMP TABLE _raw AS SELECT row_number() OVER () AS _row, * "
            f"FROM read_parquet({quote_literal(str(source))})"
        )
    except duckdb.ConversionException:
        _read_parquet_checked(con, source)
    return Extracted(_columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"))


#: Largest |value| per time unit that DuckDB's microsecond timestamps can hold.
_EPOCH_LIMIT = {"s": (2**63 - 1) // 10**6, "ms": (2**63 - 1) // 10**3}


def _read_parquet_checked(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    """Parquet with a timestamp DuckDB cannot convert: rows whose epoch value is out of
    range go to ``_rejects`` with the reason; the other rows load as usual."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    bad = pa.array([False] * table.num_rows)
    problems: dict[str, pa.Array] = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_timestamp(kind) and kind.unit in _EPOCH_LIMIT:
            ints = pc.cast(column, pa.int64())
            out = pc.fill_null(pc.greater(pc.abs(ints), _EPOCH_LIMIT[kind.unit]), False)
            problems[name] = out
            bad = pc.or_(bad, out)
    rows = pa.array(range(1, table.num_rows + 1), pa.int64())
    good = table.filter(pc.invert(bad)).append_column("_row", rows.filter(pc.invert(bad)))
    con.register("_parquet_good", good)
    try:
        names = ", ".join(quote_ident(n) for n in table.column_names)
        con.execute(f"CREATE TEMP TABLE _raw AS SELECT _row, {names} FROM _parquet_good")
    finally:
        con.unregister("_parquet_good")
    rejected = table.filter(bad)
    numbers = rows.filter(bad).to_pylist()
    as_text = {
        n: pc.cast(
            pc.cast(rejected.column(n), pa.int64()) if n in problems else rejected.column(n),
            pa.string(),
        ).to_pylist()
        for n in table.column_names
    }
    flags = {n: problems[n].filter(bad).to_pylist() for n in problems}
    rows_out: list[tuple[int, str, str, list[str] | None]] = []
    for i, line in enumerate(numbers):
        fields = [as_text[n][i] for n in table.column_names]
        what = ", ".join(
            f"{n} epoch value {as_text[n][i]} ({table.column(n).type.unit}) is out of range"
            for n in problems
            if flags[n][i]
        )
        raw = ",".join("" if f is None else f for f in fields)
        rows_out.append((line, raw, f"unreadable value: {what}", fields))
    _insert_rejects(con, rows_out)


def _read_text_lines(
    con: duckdb.DuckDBPyConnection, path: Path, source: Path, table: str, split: bool = False
) -> None:
    """Every physical line as one VARCHAR value (no quoting, no delimiter), in file order;
    ``_row`` is the physical line number (in this mode the reader keeps empty lines, as NULL)."""
    _scan_with_rejects(
        con,
        f"read_csv({quote_literal(str(source))}, columns = {{'line': 'VARCHAR'}}, "
        "header = false, delim = chr(31), quote = '', escape = '', strict_mode = false, "
        "null_padding = true)",
    )
    _renumber_to_physical_lines(con, 0)
    _exact_rejects(con, path, str.split if split else None)
    if table != "_raw":
        con.execute(f"ALTER TABLE _raw RENAME TO {table}")


def _read_lines(con: duckdb.DuckDBPyConnection, path: Path, source: Path) -> Extracted:
    _read_text_lines(con, path, source, "_raw")
    return Extracted(
        {"line": "VARCHAR"}, _count(con, "_raw"), _count(con, "_rejects"), "\n", splittable=False
    )


def _read_whitespace(
    con: duckdb.DuckDBPyConnection, path: Path, source: Path, spec: ReaderSpec
) -> Extracted:
    _read_text_lines(con, path, source, "_lines", split=True)
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
    typical = con.execute(
        "SELECT coalesce(mode(len(regexp_split_to_array(trim(line), '\\s+'))), 0) "
        "FROM _lines WHERE trim(line) <> ''"
    ).fetchall()
    con.execute("DROP TABLE _lines")
    return Extracted(
        _columns(con, "_raw"),
        _count(con, "_raw"),
        _count(con, "_rejects"),
        " ",
        typical_fields=int(typical[0][0]),
    )


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, source: Path) -> Extracted:
    """JSON lines: each line parsed on its own, so one bad line is quarantined, not fatal."""
    _read_text_lines(con, path, source, "_lines")
    con.execute("DELETE FROM _lines WHERE line IS NULL OR trim(line) = ''")
    con.execute(
        "INSERT INTO _rejects SELECT _row, line, 'not a JSON object', NULL FROM _lines "
        "WHERE NOT coalesce(json_valid(line), false) OR json_type(line) <> 'OBJECT'"
    )
    con.execute("DELETE FROM _lines WHERE _row IN (SELECT _row FROM _rejects)")
    keys = [
        r[0]
        for r in con.execute(
            "SELECT k FROM (SELECT unnest(json_keys(line)) AS k, _row FROM _lines) "
            "GROUP BY k ORDER BY min(_row)"
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
    return Extracted(
        _columns(con, "_raw"), _count(con, "_raw"), _count(con, "_rejects"), splittable=False
    )


def _json_path_key(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'
