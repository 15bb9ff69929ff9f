"""``shopmind ingest``: load a file into the workspace's canonical tables."""

from __future__ import annotations

import glob as globmod
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import (
    JsonOption,
    emit,
    print_table,
    stage_progress,
    stderr,
    stdout,
)
from shopmind.cli.state import State, state
from shopmind.config import DEFAULT_PROFILE
from shopmind.errors import ConfigError, IngestError
from shopmind.ingest import FORMATS, IngestOptions, IngestReport, ingest_file


class OnOff(StrEnum):
    on = "on"
    off = "off"


def workspace_key(st: State, *, required: bool = True, ids: bool = True) -> bytes | None:
    """The pseudonymisation key for this workspace (see Settings.key_choice); says once, on
    stderr, when a new per-workspace key was created and must be backed up (``ids``: it
    pseudonymises ids in this load, else it only hashes personal columns)."""
    settings = st.settings
    if settings.pseudonymize_key is None and settings.profile == DEFAULT_PROFILE:
        st.workspace.init()  # the key file lives in the workspace folder
    try:
        choice = settings.key_choice(st.workspace.root)
    except ConfigError:
        if required:
            raise
        return None
    if choice.created:
        use = (
            "later loads cannot give the same people the same pseudonyms"
            if ids
            else "later loads cannot hash the same e-mails and phones to the same values (ids "
            "stay as loaded with --pseudonymize off)"
        )
        stderr.print(
            f"warning: created a new pseudonymisation key for this workspace: {choice.path} "
            f"(readable by you only). Back it up apart from the workspace: without it, {use}. "
            "To use your own key, set SHOPMIND_PSEUDONYMIZE_KEY.",
            highlight=False,
        )
    return choice.key


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``canonical=source`` pairs to a dict; the error shows the expected form."""
    mapping = {}
    for pair in pairs:
        canonical, sep, source = pair.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise IngestError(
                f"--map {pair!r} is not of the form canonical=source_column.",
                hint="Example: --map ts=event_time --map user_id=customer.",
            )
        mapping[canonical.strip()] = source.strip()
    return mapping


def ingest(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="CSV/TSV, Parquet, JSON-lines or spreadsheet (.xlsx) file.")
    ],
    format: Annotated[
        str,
        typer.Option("--format", "-f", help=f"Source format: {', '.join(FORMATS)}."),
    ] = "generic",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="canonical=source_column, repeatable (e.g. ts=event_time)."),
    ] = None,
    table: Annotated[
        str, typer.Option(help="generic only: target table events|users|items|orders.")
    ] = "events",
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA zone for timestamps without offset (e.g. Europe/London)."),
    ] = None,
    event_type: Annotated[
        str | None,
        typer.Option(
            help="sequences/sessions: event type of the items; generic events: the type of "
            "every row when the file has no event-type column (e.g. view for a clicks log)."
        ),
    ] = None,
    event_map: Annotated[
        list[str] | None,
        typer.Option(
            "--event-map",
            help="generic events: SOURCE=TYPE, the shop's own event name and the type it counts "
            "as (view, cart, remove_cart, favorite, purchase, search, refund), repeatable (e.g. "
            "begin_checkout=cart); loading a file again with other values loads what its first "
            "load quarantined as unknown types.",
        ),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(help="ISO 4217 code of prices and amounts (e.g. EUR); default: the format's."),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            help="Order of dates such as 03/04/2024: dmy or mdy, or a strptime pattern "
            "('%d.%m.%Y %H:%M'), or days (day numbers, with --day-one); default: guessed per "
            "column, and the guess is reported."
        ),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            help="The year of dates written without one, with a --date-format pattern such "
            "as '%m%d' (Tmall's 1111 is 11 November): --year 2015."
        ),
    ] = None,
    day_one: Annotated[
        str | None,
        typer.Option(
            help="The date of day 1 for times written as day numbers, with --date-format "
            "days (Dunnhumby's DAY 1 .. 711): --day-one 2012-01-01."
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of a file not in UTF-8 (e.g. latin-1, cp1252, gbk)."),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="Spreadsheets (.xlsx/.xls/.ods): the sheet to read (default: every sheet "
            "with the columns most rows share)."
        ),
    ] = None,
    pseudonymize: Annotated[
        OnOff, typer.Option(help="Keyed pseudonyms for user ids; 'off' only for public data.")
    ] = OnOff.on,
    keep_attribute: Annotated[
        list[str] | None,
        typer.Option(
            "--keep-attribute",
            help="Extra column declared non-personal: stored as is in attributes (repeatable). "
            "Other extra columns are kept only when their values look non-personal, else "
            "hashed or dropped (SHOPMIND_PII_POLICY).",
        ),
    ] = None,
    decimal: Annotated[
        str, typer.Option(help="Decimal separator of numbers in text files: '.' or ','.")
    ] = ".",
    campaign_id: Annotated[
        str | None, typer.Option(help="campaign: campaign id (default: column, else file name).")
    ] = None,
    sent_at: Annotated[
        str | None, typer.Option(help="campaign: send time of every row, e.g. 2008-03-01.")
    ] = None,
    control: Annotated[str | None, typer.Option(help="campaign: the control arm.")] = None,
    glob: Annotated[
        bool,
        typer.Option(
            "--glob", help="Treat PATH as a glob pattern and load each match (else: literal)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load PATH: extract, validate (bad rows go to quarantine with a reason), load atomically.

    rows_in = rows_loaded + rows_quarantined + duplicates_skipped, always; re-loading the same
    file adds nothing.
    """
    st = state(ctx)
    settings = st.settings
    if timezone is not None:
        from shopmind.ingest.pipeline import check_timezone

        check_timezone(timezone)  # before a workspace or a key is created
    from shopmind.ingest.dates import check_date_format
    from shopmind.ingest.pipeline import check_encoding
    from shopmind.ingest.sqlparts import check_event_map

    check_date_format(date_format, year, day_one)  # before a workspace or a key is created
    if encoding is not None:
        check_encoding(encoding)
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise IngestError(
            f"--currency {currency!r} is not an ISO 4217 code.",
            hint="Pass three letters, e.g. --currency GBP, EUR, USD or CNY.",
        )
    # Pseudonyms need the key (refused outside dev without one); with pseudonymisation off a
    # missing key only means PII columns are dropped instead of hashed.
    key = workspace_key(st, required=pseudonymize is OnOff.on, ids=pseudonymize is OnOff.on)
    pii_policy = settings.pii_policy if key else "drop"
    if pseudonymize is OnOff.on and settings.uses_dev_key() and not as_json:
        stderr.print(
            "note: using the development pseudonymisation key (SHOPMIND_PROFILE=dev); set "
            "SHOPMIND_PSEUDONYMIZE_KEY for real customer data.",
            highlight=False,
        )
    options = IngestOptions(
        format=format,
        mapping=parse_mapping(map_ or []),
        pseudonymize=pseudonymize is OnOff.on,
        key=key or b"",
        pii_policy=pii_policy,
        timezone=timezone,
        table=table,
        event_type=event_type,
        event_map=check_event_map(event_map or []),
        currency=currency.upper() if currency else None,
        keep_attributes=tuple(keep_attribute or ()),
        decimal=decimal,
        date_format=None if date_format in (None, "auto") else date_format,
        year=year,
        day_one=day_one,
        encoding=encoding,
        sheet=sheet,
        vault_key=settings.vault_key.get_secret_value() if settings.vault_key else None,
        format_options={
            k: v
            for k, v in (("campaign_id", campaign_id), ("sent_at", sent_at), ("control", control))
            if v is not None
        },
    )
    paths = _expand(path) if glob else [path]
    log_stages = os.environ.get("SHOPMIND_LOG_STAGES") == "1"
    reports = []
    for source in paths:
        with stage_progress(f"ingest {source.name}", enabled=not as_json) as progress:

            def step(stage: str) -> None:
                progress(stage)
                if log_stages:  # machine-readable stage log (used to test kills mid-load)
                    print(f"stage: {stage}", file=sys.stderr, flush=True)

            reports.append(ingest_file(st.workspace, source, options, step))

    def render() -> None:
        for report in reports:
            _print_report(report)

    emit([r.to_dict() for r in reports] if glob else reports[0].to_dict(), as_json, render)


def _expand(pattern: Path) -> list[Path]:
    """Files matching a glob pattern (``--glob``), sorted; an error when none matches."""
    matches = sorted(Path(p) for p in globmod.glob(str(pattern), recursive=True))
    files = [p for p in matches if p.is_file()]
    if not files:
        raise IngestError(
            f"No file matches the pattern {pattern}.",
            file=str(pattern),
            hint="Check the pattern, or drop --glob to load one file named literally.",
        )
    return files


def _print_report(report: IngestReport) -> None:
    print_table(
        f"{Path(report.file).name} -> {report.target} ({report.format})",
        ["rows in", "loaded", "quarantined", "duplicates", "events", "seconds"],
        [
            [
                report.rows_in,
                report.rows_loaded,
                report.rows_quarantined,
                report.duplicates_skipped,
                report.events_loaded,
                report.seconds,
            ]
        ],
    )
    for reason, count in report.quarantine_reasons.items():
        stdout.print(f"  quarantined {count:>8,}  {reason}", highlight=False)
    for column, what in report.pii_columns.items():
        stdout.print(f"  PII column {column!r}: {what}", highlight=False)
    for warning in report.warnings:
        stdout.print(f"  note: {warning}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
