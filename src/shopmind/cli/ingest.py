"""``shopmind ingest``: load a file into the workspace's canonical tables."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shopmind.cli._output import print_json, print_table, stage_progress, stderr, stdout
from shopmind.cli.state import state
from shopmind.errors import IngestError
from shopmind.ingest import FORMATS, IngestOptions, ingest_file


class OnOff(StrEnum):
    on = "on"
    off = "off"


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
    path: Annotated[Path, typer.Argument(help="CSV/TSV, Parquet or JSON-lines file.")],
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
        str | None, typer.Option(help="sequences/sessions: event type of the items.")
    ] = None,
    pseudonymize: Annotated[
        OnOff, typer.Option(help="Keyed pseudonyms for user ids; 'off' only for public data.")
    ] = OnOff.on,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Load PATH: extract, validate (bad rows go to quarantine with a reason), load atomically.

    rows_in = rows_loaded + rows_quarantined + duplicates_skipped, always; re-loading the same
    file adds nothing.
    """
    st = state(ctx)
    settings = st.settings
    # Pseudonyms need the key (refused outside dev without one); with pseudonymisation off a
    # missing key only means PII columns are dropped instead of hashed.
    key = settings.pseudonymization_key() if pseudonymize is OnOff.on else settings.optional_key()
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
    )
    log_stages = os.environ.get("SHOPMIND_LOG_STAGES") == "1"
    with stage_progress(f"ingest {path.name}", enabled=not as_json) as progress:

        def step(stage: str) -> None:
            progress(stage)
            if log_stages:  # machine-readable stage log (used to test kills mid-load)
                print(f"stage: {stage}", file=sys.stderr, flush=True)

        report = ingest_file(st.workspace, path, options, step)
    if as_json:
        print_json(report.to_dict())
        return
    print_table(
        f"{path.name} -> {report.target} ({report.format})",
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
