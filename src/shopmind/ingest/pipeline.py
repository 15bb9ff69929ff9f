"""Ingest one file: extract -> validate -> deduplicate -> load, atomically.

Invariant, always: ``rows_in = rows_loaded + rows_quarantined + duplicates_skipped``.
The load runs in one DuckDB transaction: a failure or a kill leaves the workspace as it
was. A file whose content (sha256) was already loaded with the same format and target
adds nothing; rows whose primary key is already stored are counted as duplicates.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from shopmind.errors import IngestError, MissingColumnError
from shopmind.ingest.context import Context, IngestOptions, IngestReport
from shopmind.ingest.dates import DAY_NUMBERS, check_date_format, counted_from, date_reading
from shopmind.ingest.extract import (
    PARQUET_SUFFIXES,
    Extracted,
    extract,
    number_rows,
    quote_ident,
    quote_literal,
    reads_delimited_text,
    unnumbered_raw,
)
from shopmind.ingest.formats import get_format
from shopmind.ingest.formats.base import Format
from shopmind.ingest.spreadsheet import SPREADSHEET_SUFFIXES, spreadsheet_to_csv
from shopmind.ingest.sqlparts import NUMBER_TYPES, event_map_conflicts
from shopmind.ingest.textscan import (
    TextScan,
    has_utf8_text,
    scan_text,
    single_byte_encoding,
    transcode,
)
from shopmind.ingest.vault_fill import fill_vault
from shopmind.privacy import pii_kind, redact_text_sql
from shopmind.privacy.pii import (
    looks_non_personal,
    names_a_person,
    pii_kind_of_values,
    register_redactor,
)
from shopmind.store import Workspace, migrate

Progress = Callable[[str], None]

STAGES = ("hash", "extract", "validate", "deduplicate", "load")
_DONE = {"hash": "hashed", "drop": "dropped"}


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_timezone(name: str) -> None:
    """Refuse a ``--timezone`` DuckDB cannot read naive times in (a zone name such as
    Europe/London, or an offset such as UTC+8), before any work."""
    with duckdb.connect() as con:
        try:
            con.execute("SELECT timezone(?, TIMESTAMP '2000-01-01 12:00:00')", [name]).fetchone()
            return
        except duckdb.Error:
            pass
    raise IngestError(
        f"--timezone {name!r} is not a time zone.",
        hint="Use an IANA name such as Europe/London, Asia/Shanghai or UTC, or an offset "
        "such as UTC+8.",
    )


def check_encoding(encoding: str) -> None:
    """Refuse an ``--encoding`` that is no text encoding Python knows (``hex`` and ``rot13``
    are codecs, but not of text files)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise IngestError(
            f"--encoding {encoding!r} is not a known text encoding.",
            hint="Pass a codec name, e.g. latin-1, cp1252, gbk, shift_jis or utf-16.",
        )


def _codec(encoding: str) -> str:
    """The codec's own name (``latin1`` and ``ISO-8859-1`` are ``iso8859-1``)."""
    return codecs.lookup(encoding).name


def file_stamp(path: Path) -> tuple[int, int, int]:
    """(size in bytes, modification time in ns, inode): changes when the file is rewritten."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def ingest_file(
    workspace: Workspace,
    path: Path,
    options: IngestOptions,
    progress: Progress | None = None,
) -> IngestReport:
    """Load ``path`` into the workspace and return the reconciled report."""
    step = progress or (lambda _stage: None)
    fmt = get_format(options.format)
    target = options.table if fmt.name == "generic" else fmt.target
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    if options.decimal not in (".", ","):
        raise IngestError(
            f"--decimal {options.decimal!r} is not a decimal separator.",
            hint="Use --decimal . (default) or --decimal , (numbers such as 1,5).",
        )
    check_date_format(options.date_format, options.year, options.day_one)
    if options.encoding:
        check_encoding(options.encoding)
    if options.event_map and (fmt.name != "generic" or target != "events"):
        raise IngestError(
            f"--event-map applies to event files of the generic format, not to "
            f"{fmt.name} {target}.",
            hint="Leave out --event-map, or load the events with --format generic.",
        )
    if not path.exists() or path.is_dir():
        raise IngestError(f"File not found: {path}.", file=str(path), hint="Check the path.")
    if options.timezone is not None:
        check_timezone(options.timezone)
    stamp = file_stamp(path)  # before the first read: a rewrite during the load is refused
    step("hash")
    scan = None
    if reads_delimited_text(path, fmt.reader):  # one read for the hash and the line scan
        digest = hashlib.sha256()
        scan = scan_text(path, digest=digest)
        sha = digest.hexdigest()
    else:
        sha = file_sha256(path)
    report = IngestReport(
        ingestion_id=f"ing_{started:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}",
        file=str(path),
        format=fmt.name,
        target=target,
        sha256=sha,
        pseudonymized=options.pseudonymize,
        started_at=started.isoformat(),
    )
    workspace.init()
    # DuckDB spills temporary tables (raw ids before pseudonymisation) to its temp folder:
    # a private one outside the workspace, removed when the load ends.
    workdir = Path(tempfile.mkdtemp(prefix="shopmind-ingest-"))
    try:
        return _ingest(workspace, path, options, fmt, report, workdir, step, t0, scan, stamp)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _ingest(
    workspace: Workspace,
    path: Path,
    options: IngestOptions,
    fmt: Format,
    report: IngestReport,
    workdir: Path,
    step: Progress,
    t0: float,
    scan: TextScan | None = None,
    stamp: tuple[int, int, int] | None = None,
) -> IngestReport:
    sha = report.sha256
    target = report.target
    started = datetime.fromisoformat(report.started_at)
    with workspace.connect() as con:
        con.execute(f"SET temp_directory = {quote_literal(str(workdir / 'spill'))}")
        register_redactor(con)
        migrate(con)
        previous = con.execute(
            "SELECT rows_in, ingestion_id, options->>'mapping', options->>'encoding', "
            "options->>'event_map', options->>'timezone', options->>'currency' "
            "FROM ingestions "
            "WHERE sha256 = ? AND format = ? AND target = ? ORDER BY finished_at DESC LIMIT 1",
            [sha, fmt.name, target],
        ).fetchone()
        remapped = previous is not None and _mapping_changed(previous[2], options.mapping)
        merged = fmt.name == "generic" and target != "events"  # users, items, orders
        # read again in another --encoding: lines it quarantined as unreadable can load now
        recoded = (
            previous is not None
            and options.encoding is not None
            and _codec(options.encoding) != _codec(previous[3] or "utf-8")
        )
        # read again with more --event-map values: events it quarantined as of an unknown
        # type can load now (the ones loaded before are duplicates: their types cannot change)
        mapped_before = (json.loads(previous[4] or "{}") or {}) if previous is not None else {}
        if previous is not None and not options.event_map.items() <= mapped_before.items():
            _check_event_map_adds(path, mapped_before, options.event_map)
            recoded = True
        if recoded and previous is not None:  # the rows loaded before must read the same
            _check_same_reading(path, options, fmt, remapped, previous[5], previous[6])
        if previous is not None and not (remapped and merged) and not recoded:
            report.already_ingested = True
            report.rows_in = report.duplicates_skipped = int(previous[0])
            again = (
                " with other --map options: events are appended, so loading them again would "
                "count them twice (a users, items or orders file is merged again instead)"
                if remapped
                else ""
            )
            report.warnings.append(
                f"{path.name} was already loaded (ingestion {previous[1]}){again}; nothing added."
                + _ignored_options(options, fmt, previous[5], previous[6])
            )
            return _finish(report, t0)
        read_path, scan = _readable_copy(path, options, fmt, workdir, scan, report, step)

        # a load that reads the file again in another encoding (or with other --event-map
        # values) replaces the quarantine of the earlier loads of it: this load's quarantine
        # is what is still not loaded
        replaced = _same_file_loads(con, sha, fmt.name, target) if recoded else []
        whole_number_ids = _setting(con, "whole_number_ids", "true") == "true"

        def context(extracted: Extracted, options: IngestOptions) -> Context:
            return Context(
                path,
                options,
                extracted,
                sha,
                report.ingestion_id,
                stamp=stamp,
                currency=options.currency or fmt.currency,
                replaces_quarantine_of=replaced,
                whole_number_ids=whole_number_ids,
            )

        # Windows-1252 text (see single_byte_encoding) is read through a UTF-8 copy: known
        # from the line scan before any read, else from the lines the reader refused
        not_utf8 = scan is not None and scan.not_utf8 and not options.encoding
        guess = single_byte_encoding(path) if not_utf8 else None
        guessed = False
        while True:  # at most twice: a second time in Windows-1252
            if guess is not None:
                step("re-encode")
                read_path = transcode(path, guess, workdir)
                scan = scan_text(read_path)
                options = dataclasses.replace(options, encoding=guess)
                guessed = True
            step("extract")
            extracted = extract(con, read_path, fmt.reader, workdir, scan, stream=True)
            try:
                ctx = _resolve_and_stage(con, fmt, context(extracted, options), step)
            except duckdb.Error:
                if not extracted.streamed:
                    raise
                # a record the strict streaming reader refuses: extract the exact way
                # (physical line numbers, unreadable lines quarantined), validate again
                extracted = extract(con, read_path, fmt.reader, workdir, scan)
                ctx = _resolve_and_stage(con, fmt, context(extracted, options), step)
            refused = not options.encoding and _refused_as_not_utf8(con)
            guess = single_byte_encoding(path) if refused else None
            if guess is None:
                break
        if guessed:
            ctx.notes.insert(
                0,
                f"{path.name} is not UTF-8: read as {options.encoding} (Western European "
                "Windows text, byte 0xA3 is '£'); pass --encoding if it is another one "
                "(e.g. gbk).",
            )
        report.pii_columns = {
            c: f"{k} ({_DONE[options.pii_policy]})" for c, k in ctx.pii_columns.items()
        }
        report.warnings.extend(ctx.notes)
        unknown = [c for c in options.keep_attributes if c not in extracted.columns]
        if unknown:
            report.warnings.append(
                f"--keep-attribute {', '.join(unknown)}: no such column in {path.name}."
            )
        # generic events keep their canonical fields only: extra columns are never stored,
        # so they are named as such, not as personal data (Ta-Feng's PRODUCT_SUBCLASS)
        if fmt.name == "generic" and target == "events":
            dropped = [c for c, p in ctx.undeclared.items() if p != "keep"]
            if dropped:
                report.warnings.append(
                    f"not stored: column{'s' if len(dropped) > 1 else ''} {', '.join(dropped)} "
                    "(events keep their canonical fields only; --map one to a field to use it)"
                )
        else:
            report.pii_columns.update(
                {
                    c: f"extra column not judged non-personal ({_DONE[p]})"
                    for c, p in ctx.undeclared.items()
                    if p != "keep"
                }
            )
        used = set(ctx.resolved.values())
        report.ignored_columns = [
            c for c in extracted.columns if c not in used and not c.startswith("_")
        ]
        step("deduplicate")
        _deduplicate(con, fmt, ctx)
        counts = _counts(con)
        report.rows_in = counts["rows_in"]
        report.rows_loaded = counts["fresh"]
        report.rows_quarantined = counts["quarantined"]
        report.duplicates_skipped = counts["duplicates"]
        report.quarantine_reasons = _reasons(con)
        unreadable = sum(
            n
            for r, n in report.quarantine_reasons.items()
            if "encoding" in r or "unicode" in r or "UTF-8" in r
        )
        if unreadable and has_utf8_text(path):  # a UTF-8 file with broken lines
            report.warnings.append(
                f"{unreadable} rows are not valid UTF-8 and were quarantined; the rest of the "
                "file is UTF-8, so those lines are broken: fix them at the source (reading the "
                "whole file in another encoding would garble its other lines)."
            )
        elif unreadable:
            report.warnings.append(
                f"{unreadable} rows are not UTF-8 text and were quarantined: load the file again "
                "with its encoding (e.g. --encoding gbk, big5, shift_jis or latin-1)."
            )
        if report.rows_in == 0:  # a header alone (an export of an empty day): say so
            report.warnings.append(
                f"{path.name} holds no data rows (a header only?): nothing was loaded."
            )
        if (
            report.rows_loaded == 0
            and report.rows_quarantined > 0
            and not report.duplicates_skipped
        ):
            top = "; ".join(f"{n} x {r}" for r, n in list(report.quarantine_reasons.items())[:3])
            example = con.execute("SELECT reason FROM _quarantine ORDER BY _row LIMIT 1").fetchone()
            raise IngestError(
                f"No row of {path} can be loaded as format '{fmt.name}' "
                f"({report.rows_quarantined} rows rejected: {top}; the first: "
                f"{example[0] if example else '?'}). Nothing was written.",
                file=str(path),
                hint=_all_rejected_hint(report.quarantine_reasons),
            )
        step("load")
        noted = len(ctx.notes)
        report.tables = _load(con, fmt, ctx, report, started)
        report.warnings.extend(ctx.notes[noted:])  # what the load itself found (order lines)
        step("committed")  # the marker a kill test uses: the transaction is durable now
        report.events_loaded = report.tables.get("events", 0)
    if not report.reconciles():  # pragma: no cover - guarded by tests; a bug if it fires
        raise IngestError(f"Internal error: row counts do not reconcile for {path}.")
    return _finish(report, t0)


def _readable_copy(
    path: Path,
    options: IngestOptions,
    fmt: Format,
    workdir: Path,
    scan: TextScan | None,
    report: IngestReport,
    step: Progress,
) -> tuple[Path, TextScan | None]:
    """The file to read and its line scan: ``path`` itself, or a UTF-8 CSV copy in the
    private ``workdir`` of a spreadsheet (sheets named in the report) or of text in the
    ``--encoding`` given."""
    read_path = path
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        step("read sheets")
        sheets = spreadsheet_to_csv(path, workdir, options.sheet)
        read_path, scan = sheets.path, scan_text(sheets.path)
        report.warnings += sheets.notes()
    elif options.sheet is not None:
        raise IngestError(
            f"--sheet {options.sheet!r}: {path.name} is not a spreadsheet.",
            file=str(path),
            hint="Leave out --sheet for CSV, Parquet and JSON files.",
        )
    if options.encoding and not reads_text(path, fmt):
        raise IngestError(
            f"--encoding {options.encoding}: {path.name} is not a text file.",
            file=str(path),
            hint="Leave out --encoding for Parquet files and spreadsheets.",
        )
    if options.encoding and codecs.lookup(options.encoding).name != "utf-8":
        step("re-encode")
        read_path = transcode(path, options.encoding, workdir)
        scan = scan_text(read_path) if scan is not None else None
    return read_path, scan


def reads_text(path: Path, fmt: Format) -> bool:
    """Whether the file is read as text (so an encoding applies to it)."""
    suffix = path.suffix.lower()
    return fmt.reader.kind != "table" or suffix not in PARQUET_SUFFIXES | SPREADSHEET_SUFFIXES


def _refused_as_not_utf8(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the reader quarantined lines as invalid UTF-8 (``_rejects``)."""
    row = con.execute("SELECT count(*) FROM _rejects WHERE reason LIKE '%encoding%'").fetchone()
    return bool(row and row[0])


def _same_file_loads(con: duckdb.DuckDBPyConnection, sha: str, fmt: str, target: str) -> list[str]:
    rows = con.execute(
        "SELECT ingestion_id FROM ingestions WHERE sha256 = ? AND format = ? AND target = ?",
        [sha, fmt, target],
    ).fetchall()
    return [r[0] for r in rows]


def _mapping_changed(stored: str | None, mapping: dict[str, str]) -> bool:
    """Whether ``--map`` differs from the one a file was loaded with before."""
    try:
        before = json.loads(stored) if stored else {}
    except ValueError:
        before = {}
    return dict(before or {}) != dict(mapping)


def _setting(con: duckdb.DuckDBPyConnection, name: str, default: str) -> str:
    """A value of ``workspace_settings`` (migration 14)."""
    row = con.execute("SELECT value FROM workspace_settings WHERE name = ?", [name]).fetchone()
    return str(row[0]) if row else default


def _changed_options(
    options: IngestOptions, fmt: Format, timezone: str | None, currency: str | None
) -> list[str]:
    """The given options that differ from the first load's of the same file."""
    given = {"--timezone": (options.timezone, timezone), "--currency": (options.currency, currency)}
    return [
        f"{name} {now} (it was loaded with {before or 'none'})"
        for name, (now, before) in given.items()
        if now is not None and now != (before or (fmt.timezone if name == "--timezone" else None))
    ]


def _check_same_reading(
    path: Path,
    options: IngestOptions,
    fmt: Format,
    remapped: bool,
    timezone: str | None,
    currency: str | None,
) -> None:
    """Refuse to read a file again (another --encoding, more --event-map values) with options
    that would give the rows loaded before other values: they would be stored twice."""
    changed = _changed_options(options, fmt, timezone, currency)
    if remapped:
        changed.append("--map (other columns)")
    if changed:
        raise IngestError(
            f"{path.name} was loaded before; reading it again with {'; '.join(changed)} would "
            "store the rows loaded then a second time.",
            file=str(path),
            hint="Repeat the first load's --map, --timezone and --currency, or load the file "
            "into a new workspace.",
        )


def _ignored_options(
    options: IngestOptions, fmt: Format, timezone: str | None, currency: str | None
) -> str:
    """The options of a load that was skipped as already done that differ from the first
    load's (they were not applied): empty when none."""
    changed = _changed_options(options, fmt, timezone, currency)
    if not changed:
        return ""
    return (
        f" Not applied: {'; '.join(changed)}. The stored rows keep the first load's reading; "
        "to read the file differently, load it into a new workspace."
    )


def _check_event_map_adds(path: Path, before: dict[str, str], after: dict[str, str]) -> None:
    """Refuse an ``--event-map`` that would change the type of events this file already
    loaded (their key holds the type, so they would be stored twice)."""
    if changed := event_map_conflicts(before, after):
        raise IngestError(
            f"{path.name} was loaded before with other event types for: {', '.join(changed)}; "
            "loading it again would change events already loaded (a changed type is stored "
            "twice, a dropped one quarantined although loaded).",
            file=str(path),
            hint="Keep the earlier --event-map values and only add new ones, or load the file "
            "into a new workspace.",
        )


def _resolve_and_stage(
    con: duckdb.DuckDBPyConnection, fmt: Format, ctx: Context, step: Progress
) -> Context:
    """Columns resolved, PII judged, ``_staged`` and ``_quarantine`` built. With a streamed
    ``_raw`` a DuckDB error (a record the reader refuses) is raised as is, for a retry."""
    _resolve_columns(con, fmt, ctx)
    step("validate")
    _stage(con, fmt, ctx)
    return ctx


def _finish(report: IngestReport, t0: float) -> IngestReport:
    report.finished_at = datetime.now(UTC).isoformat()
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _resolve_columns(con: duckdb.DuckDBPyConnection, fmt: Format, ctx: Context) -> None:
    """Map canonical fields to source columns (``--map`` first, then known names)."""
    found = [c for c in ctx.extracted.columns if not c.startswith("_")]
    by_key = {_column_key(c): c for c in found}
    fields = {f.name: f for f in fmt.fields_for(ctx)}
    for canonical, source in ctx.options.mapping.items():
        if canonical not in fields:
            raise IngestError(
                f"--map {canonical}={source}: format '{fmt.name}' has no field '{canonical}'.",
                file=str(ctx.path),
                hint=f"Fields of '{fmt.name}': {', '.join(fields)}.",
            )
        if source not in found and _column_key(source) not in by_key:
            raise IngestError(
                f"--map {canonical}={source}: no column '{source}' in {ctx.path} "
                f"(found: {', '.join(found)}).",
                file=str(ctx.path),
                hint="Use one of the columns found.",
            )
    for name, field in fields.items():
        candidates = (ctx.options.mapping[name],) if name in ctx.options.mapping else field.sources
        match = next((by_key[_column_key(c)] for c in candidates if _column_key(c) in by_key), None)
        if match is not None:
            ctx.resolved[name] = match
        elif field.required:
            raise MissingColumnError(file=str(ctx.path), column=name, found=found, fmt=fmt.name)
    if fmt.user_field and fmt.user_field in ctx.resolved:
        ctx.user_columns.add(ctx.resolved[fmt.user_field])
    ctx.user_columns |= {c for c in fmt.raw_user_columns if c in ctx.extracted.columns}
    for name in fmt.identifier_fields:
        if name in ctx.resolved:
            ctx.id_columns.add(ctx.resolved[name])
    _read_dates(con, ctx)
    # items describe products, not people: their extra columns are only redacted
    target = ctx.options.table if fmt.name == "generic" else fmt.target
    _detect_pii(con, ctx, found, judge_extra=fmt.reader.kind == "table" and target != "items")


#: canonical fields that hold timestamps (their day/month order is read per file)
_TIMESTAMP_FIELDS = ("ts", "signup_ts", "sent_ts")


def _read_dates(con: duckdb.DuckDBPyConnection, ctx: Context) -> None:
    """strptime patterns for text timestamps written day- or month-first (``12/1/2010``)."""
    relation = ctx.extracted.reader if ctx.extracted.streamed else "_raw"
    if ctx.options.date_format == DAY_NUMBERS and ctx.options.day_one:
        for name in _TIMESTAMP_FIELDS:  # day numbers: text or integer columns alike
            if (source := ctx.resolved.get(name)) is not None:
                ctx.date_formats[name] = (counted_from(ctx.options.day_one),)
                ctx.notes.append(
                    f"{source} read as day numbers, day 1 = {ctx.options.day_one.strip()}."
                )
        return
    for name in _TIMESTAMP_FIELDS:
        source = ctx.resolved.get(name)
        kind = ctx.extracted.columns.get(source or "", "").upper()
        # text, or with --year a number (a Parquet column of mmdd: 1111, 829)
        numeric = ctx.options.year is not None and kind in NUMBER_TYPES
        if source is None or (kind != "VARCHAR" and not numeric):
            continue
        reading = date_reading(con, relation, source, ctx.options.date_format, ctx.options.year)
        if reading.formats:
            ctx.date_formats[name] = reading.formats
        if reading.note:
            ctx.notes.append(reading.note)


def _column_key(name: str) -> str:
    """Case- and punctuation-insensitive column key; drops RecBole ':type' suffixes."""
    base = name.split(":", 1)[0] if ":" in name else name
    return "".join(ch for ch in base.lower() if ch.isalnum())


def _detect_pii(
    con: duckdb.DuckDBPyConnection, ctx: Context, found: list[str], *, judge_extra: bool = True
) -> None:
    """Direct PII columns by name, or by values (e-mails, phones, IPs, ID and card numbers)
    in a sample; extra columns kept only when declared (``--keep-attribute``) or judged
    non-personal by their values, else hashed or dropped by the PII policy."""
    known = ctx.user_columns | ctx.id_columns
    known |= {source for name, source in ctx.resolved.items() if pii_kind(name) is None}
    # columns a line reader made up (col1..colN) are positional parts the format knows
    unused = set(found) - set(ctx.resolved.values())
    # items describe products: their extra columns are judged only when named after a
    # person or a visit (an items file cut from an events export carries user ids)
    extra = unused if judge_extra else {c for c in unused if names_a_person(c)}
    for column in found:
        if column in known:
            continue
        declared = column in ctx.options.keep_attributes
        kind = None if declared else pii_kind(column)
        sample: list[str] | None = None
        if kind is None and not declared:
            rows = con.execute(
                f"SELECT CAST({quote_ident(column)} AS VARCHAR) FROM _raw "
                f"WHERE {quote_ident(column)} IS NOT NULL LIMIT 1000"
            ).fetchall()
            sample = [str(r[0]) for r in rows]
            if ctx.extracted.columns[column] == "VARCHAR":
                kind = pii_kind_of_values(sample)
        if kind is not None:
            ctx.pii_columns[column] = kind
        elif column in extra:
            safe = declared or (not names_a_person(column) and looks_non_personal(sample or []))
            ctx.undeclared[column] = "keep" if safe else ctx.options.pii_policy


def _stage(con: duckdb.DuckDBPyConnection, fmt: Format, ctx: Context) -> None:
    staged = f"CREATE OR REPLACE TEMP TABLE _staged AS {fmt.staged_sql(ctx)}"
    try:
        if ctx.extracted.streamed and fmt.rows_pass_through:
            with unnumbered_raw(con, ctx.extracted):
                con.execute(staged)
            number_rows(con, "_staged", ctx.extracted)
        else:
            con.execute(staged)
    except duckdb.Error as exc:
        if ctx.extracted.streamed:
            raise
        raise IngestError(
            f"Cannot validate {ctx.path} as format '{fmt.name}': {str(exc).splitlines()[0]}",
            file=str(ctx.path),
            hint="Check that --format matches the file, or use --format generic with --map.",
        ) from exc
    # Quarantined records are stored protected like good rows (pseudonyms, hashed PII,
    # redacted text); a record that cannot be split into the columns keeps only a keyed hash.
    # the raw values of bad rows come from ``_raw`` (a second read of a streamed file): only
    # when there are any
    bad = f"""
            SELECT r._row, {ctx.raw_json_sql()} AS raw, s._reason AS reason
            FROM _raw r JOIN (SELECT _row, _reason FROM _staged WHERE _reason IS NOT NULL) s
            USING (_row)
            UNION ALL"""
    if not _any_row(con, "SELECT 1 FROM _staged WHERE _reason IS NOT NULL"):
        bad = ""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _quarantine AS
        SELECT _row, raw, {redact_text_sql("reason")} AS reason FROM ({bad}
            SELECT _row, {ctx.rejected_json_sql()} AS raw, reason FROM _rejects
        )
        """
    )
    # A record an earlier load of this format already quarantined is a duplicate now (not
    # one of the loads this one replaces: their quarantine rows give way to this one's).
    con.execute(
        "DELETE FROM _quarantine WHERE EXISTS (SELECT 1 FROM quarantine q WHERE q.format = ? "
        "AND q.raw = _quarantine.raw AND q.reason = _quarantine.reason "
        "AND NOT list_contains(?, q.ingestion_id))",
        [fmt.name, ctx.replaces_quarantine_of],
    )


def _deduplicate(con: duckdb.DuckDBPyConnection, fmt: Format, ctx: Context) -> None:
    """``_fresh``: good rows whose key is new (merge: the last row of a key wins), with user
    ids replaced by their keyed pseudonyms (computed once per distinct id).

    The window and the anti-join run only when needed: a file without repeated keys and a
    target without rows of this format skip them (the common first load)."""
    disposition = fmt.disposition(ctx)
    columns = {r[0] for r in con.execute("DESCRIBE _staged").fetchall()}
    dropped = "_reason, _rest" if "_rest" in columns else "_reason"
    select, joins, where = [f"s.* EXCLUDE ({dropped})"], [], ["s._reason IS NULL"]
    pseudonymised = ctx.options.pseudonymize and "user_id" in columns
    if pseudonymised:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _uids AS
            SELECT raw, {ctx.user_id("raw")} AS pseudo
            FROM (SELECT DISTINCT user_id AS raw FROM _staged
                  WHERE user_id IS NOT NULL AND _reason IS NULL)
            """
        )
        select = [f"s.* EXCLUDE ({dropped}) REPLACE (m.pseudo AS user_id)"]
        joins.append("LEFT JOIN _uids m ON s.user_id = m.raw")
    existing = fmt.existing_keys_sql(ctx) if disposition == "append" else None
    if existing and _any_row(con, existing):
        where.append(f"s._key NOT IN ({existing})")
    repeated = _repeated_keys(con)
    if repeated and "_rest" in columns and _split_repeats(con):
        repeated = _repeated_keys(con)
    # Without an anti-join against stored keys, ``_fresh`` is a view: the rows are written
    # once, into the canonical tables.
    as_view = len(where) == 1 and not fmt.updates_fresh
    if repeated:
        # the rows a repeated key drops, found on (key, row) alone: a window over whole rows
        # is planned as an arg_min over a struct of every column, several times slower
        order = "DESC" if disposition == "merge" and not fmt.first_row_wins(ctx) else "ASC"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _repeats AS
            SELECT _row FROM _staged
            WHERE _reason IS NULL AND _key IN (
                SELECT _key FROM _staged WHERE _reason IS NULL GROUP BY _key HAVING count(*) > 1)
            QUALIFY row_number() OVER (PARTITION BY _key ORDER BY _row {order}) > 1
            """
        )
        where.append("s._row NOT IN (SELECT _row FROM _repeats)")
    kind = "VIEW" if as_view else "TABLE"
    # ``_uids`` holds the people of every good row: of ``_fresh`` only when it drops none
    if pseudonymised and as_view and not repeated:
        ctx.fresh_user_ids = "_uids"
    con.execute(
        f"CREATE OR REPLACE TEMP {kind} _fresh AS SELECT {', '.join(select)} FROM _staged s "
        f"{' '.join(joins)} WHERE {' AND '.join(where)}"
    )
    # ``_uids`` stays: the vault fill encrypts the original of each new pseudonym in it


def _repeated_keys(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "SELECT count(*) - count(DISTINCT _key) FROM _staged WHERE _reason IS NULL"
    ).fetchone()
    return int(row[0]) if row else 0


def _split_repeats(con: duckdb.DuckDBPyConnection) -> int:
    """Rows of one content key whose other columns differ (``_rest``) become different
    events: the n-th distinct rest of a key gets ``_n`` on its key (the first keeps the key,
    so it still matches a load of the same rows before). Returns the rows re-keyed."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _rekey AS
        SELECT _row, _key || '_' || nth AS key
        FROM (
            SELECT _row, _key, dense_rank() OVER (PARTITION BY _key ORDER BY _rest) AS nth
            FROM _staged
            WHERE _reason IS NULL AND _key IN (
                SELECT _key FROM _staged WHERE _reason IS NULL
                GROUP BY _key HAVING count(DISTINCT _rest) > 1)
        )
        WHERE nth > 1
        """
    )
    row = con.execute("SELECT count(*) FROM _rekey").fetchone()
    if row and row[0]:
        con.execute(
            "UPDATE _staged SET _key = r.key, event_id = r.key FROM _rekey r "
            "WHERE _staged._row = r._row"
        )
    return int(row[0]) if row else 0


def _any_row(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    return con.execute(f"SELECT EXISTS ({sql})").fetchone() == (True,)


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    row = con.execute(
        """
        SELECT (SELECT count(*) FROM _staged) + (SELECT count(*) FROM _rejects),
               (SELECT count(*) FROM _fresh),
               (SELECT count(*) FROM _quarantine)
        """
    ).fetchone()
    assert row is not None
    rows_in, fresh, quarantined = (int(v) for v in row)
    return {
        "rows_in": rows_in,
        "fresh": fresh,
        "quarantined": quarantined,
        "duplicates": rows_in - fresh - quarantined,
    }


def _all_rejected_hint(reasons: dict[str, int]) -> str:
    """What to try when no row loads, from the commonest reason."""
    first = next(iter(reasons), "")
    if first.startswith(("ts ", "signup_ts ", "sent_ts ")) and "time zone" not in first:
        return (
            "Name how the times are written: --date-format dmy, mdy or a strptime pattern "
            "(e.g. --date-format '%m %d, %Y' for '09 13, 2009'; '%m%d' --year 2015 for "
            "'1111'), or --date-format days --day-one 2012-01-01 for day numbers; or map "
            "another column with --map ts=COLUMN."
        )
    if "time zone" in first:
        return "Pass the zone the times were written in, e.g. --timezone Europe/London."
    if first.startswith("event_type "):
        return "Map the file's event names to types with --event-map NAME=TYPE."
    return "Fix the file or the options (--format, --map, --timezone) and rerun."


def _reasons(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Quarantine counts per reason kind (the reason up to its first quoted value)."""
    rows = con.execute(
        "SELECT regexp_replace(reason, '''[^'']*''', '...', 'g') AS kind, count(*) "
        "FROM _quarantine GROUP BY kind ORDER BY count(*) DESC LIMIT 20"
    ).fetchall()
    return {str(k): int(n) for k, n in rows}


def _check_unchanged(ctx: Context) -> None:
    """A streamed file is read more than once (hash, staging, bad rows, vault contacts): refuse
    to commit rows assembled from two versions of a file rewritten during the load."""
    if ctx.stamp is not None and file_stamp(ctx.path) != ctx.stamp:
        raise IngestError(
            f"{ctx.path} changed while it was being loaded; nothing was loaded.",
            file=str(ctx.path),
            hint="Load it again once it is complete (write files under a temporary name and "
            "rename them when done).",
        )


def _load(
    con: duckdb.DuckDBPyConnection,
    fmt: Format,
    ctx: Context,
    report: IngestReport,
    started: datetime,
) -> dict[str, int]:
    con.execute("BEGIN TRANSACTION")
    try:
        tables = fmt.load(con, ctx)
        if vaulted := fill_vault(con, ctx):  # original ids and contacts, encrypted
            tables["vault"] = vaulted
        if ctx.replaces_quarantine_of:  # read again: this load's quarantine is what is left
            con.execute(
                "DELETE FROM quarantine WHERE list_contains(?, ingestion_id)",
                [ctx.replaces_quarantine_of],
            )
        con.execute(
            "INSERT INTO quarantine SELECT ?, _row, raw, reason, now(), ?, ? FROM _quarantine",
            [str(ctx.path), fmt.name, ctx.ingestion_id],
        )
        tables["quarantine"] = report.rows_quarantined
        options = {
            "mapping": ctx.options.mapping,
            "timezone": ctx.options.timezone or fmt.timezone,
            "currency": ctx.options.currency or fmt.currency,
            "pii_policy": ctx.options.pii_policy,
            "date_formats": {k: v[0] for k, v in ctx.date_formats.items()},
            "encoding": ctx.options.encoding,
            "event_map": ctx.options.event_map,
            "pii_columns": report.pii_columns,
        }
        con.execute(
            "INSERT INTO ingestions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [
                ctx.ingestion_id,
                str(ctx.path),
                fmt.name,
                report.target,
                ctx.sha256,
                report.rows_in,
                report.rows_loaded,
                report.rows_quarantined,
                report.duplicates_skipped,
                tables.get("events", 0),
                ctx.options.pseudonymize,
                json.dumps(options),
                started,
            ],
        )
        _check_unchanged(ctx)
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise IngestError(
                f"Loading {ctx.path} failed and was rolled back: {str(exc).splitlines()[0]}",
                file=str(ctx.path),
            ) from exc
        raise
    return tables
