"""A corpus of bad inputs through the real CLI: each ends in a clear error or in the
quarantine with a reason, never in a traceback, and the row accounting always holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import run_cli

HEADER = "user_id,item_id,event_type,ts,quantity,price\n"
GOOD = "u1,i1,view,2024-03-01T10:00:00+00:00,,\nu2,i2,purchase,2024-03-01T11:00:00Z,1,9.5\n"


@dataclass
class Case:
    name: str
    content: bytes
    outcome: str  # "ok" or "error"
    expect: str = ""  # substring of the reason (quarantine) or of the error message
    suffix: str = ".csv"
    args: list[str] = field(default_factory=list)
    loaded: int | None = None
    quarantined: int | None = None
    duplicates: int | None = None
    warns: str = ""  # substring of one of the report's warnings


def b(text: str) -> bytes:
    return text.encode()


CASES = [
    Case("missing_column", b("user_id,item_id\nu1,i1\n"), "error", "Required column 'event_type'"),
    Case(
        "wrong_types",
        b(HEADER + GOOD + "u3,i3,cart,2024-03-01T12:00:00Z,two,abc\n"),
        "ok",
        "is not a number",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "bad_dates",
        b(HEADER + GOOD + "u3,i3,view,2024-13-45T00:00:00Z,,\n"),
        "ok",
        "is not a timestamp",
        loaded=2,
        quarantined=1,
    ),
    Case("empty_file", b(""), "error", "empty"),
    Case("header_only", b(HEADER), "ok", loaded=0, quarantined=0, warns="no data rows"),
    Case("utf8_bom", b"\xef\xbb\xbf" + b(HEADER + GOOD), "ok", loaded=2, quarantined=0),
    Case(
        "semicolon_delimiter",
        b(HEADER.replace(",", ";") + GOOD.replace(",", ";")),
        "ok",
        loaded=2,
        quarantined=0,
    ),
    Case(
        "wrong_delimiter_for_format",
        b("1;2;3;pv;1511544070\n1;3;3;pv;1511544071\n"),
        "error",
        "missing",
        args=["--format", "taobao_userbehavior"],
    ),
    Case(
        "duplicate_rows",
        b(HEADER + GOOD + GOOD.splitlines(keepends=True)[1]),
        "ok",
        loaded=2,
        quarantined=0,
        duplicates=1,
    ),
    Case(
        "huge_numbers",
        b(
            HEADER + GOOD + "u3,i3,purchase,2024-03-01T12:00:00Z,1e400,1\n"
            "u4,i4,purchase,2024-03-01T12:00:00Z,1,99999999999999999999999\n"
        ),
        "ok",
        "",
        loaded=2,
        quarantined=2,
    ),
    Case(
        "non_utf8_bytes",
        b(HEADER + GOOD) + b"u3,i\xff3,view,2024-03-01T12:00:00Z,,\n",
        "ok",
        "unreadable line",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "truncated_last_line",
        b(HEADER + GOOD + "u3,i3,vi"),
        "ok",
        "unreadable line",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "mixed_time_zones",
        b(
            HEADER + "u1,i1,view,2024-03-01T10:00:00+02:00,,\n"
            "u2,i2,view,2024-03-01T10:00:00-05:00,,\n"
            "u3,i3,view,2024-03-01 10:00:00,,\n"
        ),
        "ok",
        "has no time zone",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "naive_timestamps_only",
        b(HEADER + "u1,i1,view,2024-03-01 10:00:00,,\n"),
        "error",
        "--timezone",
    ),
    Case(
        "naive_with_timezone_option",
        b(HEADER + "u1,i1,view,2024-07-01 10:00:00,,\n"),
        "ok",
        args=["--timezone", "Europe/London"],
        loaded=1,
        quarantined=0,
    ),
    Case(
        "naive_with_utc_offset_option",
        b(HEADER + "u1,i1,view,2024-07-01 10:00:00,,\n"),
        "ok",
        args=["--timezone", "UTC+8"],
        loaded=1,
        quarantined=0,
    ),
    Case(
        "unknown_time_zone",
        b(HEADER + "u1,i1,view,2024-07-01 10:00:00,,\n"),
        "error",
        "is not a time zone.",
        args=["--timezone", "Mars/Base"],
    ),
    Case(
        "unknown_event_type",
        b(HEADER + GOOD + "u3,i3,teleport,2024-03-01T12:00:00Z,,\n"),
        "ok",
        "is not one of view",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "missing_ids",
        b(HEADER + GOOD + ",i3,view,2024-03-01T12:00:00Z,,\n"),
        "ok",
        "user_id and session_id are both missing",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "negative_price",
        b(HEADER + GOOD + "u3,i3,purchase,2024-03-01T12:00:00Z,1,-5\n"),
        "ok",
        "is below 0",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "far_future_date",
        b(HEADER + GOOD + "u3,i3,view,2999-01-01T00:00:00Z,,\n"),
        "ok",
        "out of range",
        loaded=2,
        quarantined=1,
    ),
    Case("unknown_format", b(HEADER + GOOD), "error", "Known formats", args=["--format", "nope"]),
    Case("binary_garbage", bytes(range(256)) * 20, "error", ""),
    Case(
        "json_lines_with_bad_line",
        b(
            '{"user_id":"u1","item_id":"i1","event_type":"view","ts":"2024-03-01T10:00:00Z"}\n'
            '{"user_id":"u2", broken\n'
            '{"user_id":"u3","item_id":"i3","event_type":"cart","ts":"2024-03-01T10:05:00Z"}\n'
        ),
        "ok",
        "not a JSON object",
        suffix=".jsonl",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "map_to_missing_column",
        b(HEADER + GOOD),
        "error",
        "no column 'when'",
        args=["--map", "ts=when"],
    ),
    Case(
        "malformed_map", b(HEADER + GOOD), "error", "canonical=source_column", args=["--map", "ts"]
    ),
    Case(
        "crlf_line_endings", b(HEADER + GOOD).replace(b"\n", b"\r\n"), "ok", loaded=2, quarantined=0
    ),
    Case(
        "epoch_milliseconds",
        b(HEADER + "u1,i1,view,1709287200000,,\n"),
        "ok",
        loaded=1,
        quarantined=0,
    ),
    Case(
        "unterminated_quote",
        b(HEADER + GOOD + 'u3,"i3,view,2024-03-01T12:00:00Z,,\n'),
        "ok",
        "unreadable line",
        loaded=2,
        quarantined=1,
    ),
    Case(
        "mapped_columns",
        b("customer,product,action,when\nc1,p1,add_to_cart,2024-03-01T10:00:00Z\n"),
        "ok",
        args=[
            "--map",
            "user_id=customer",
            "--map",
            "item_id=product",
            "--map",
            "event_type=action",
            "--map",
            "ts=when",
        ],
        loaded=1,
        quarantined=0,
    ),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"{case.name}{case.suffix}"
    path.write_bytes(case.content)
    args = case.args if "--format" in case.args else ["--format", "generic", *case.args]
    result = run_cli("--workspace", str(tmp_path / "ws"), "ingest", str(path), *args, "--json")
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    if case.outcome == "error":
        assert result.returncode != 0, result.stdout
        assert result.stderr.startswith("error:"), result.stderr
        assert case.expect in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 6  # one paragraph
        if (tmp_path / "ws" / "shopmind.duckdb").exists():
            rows = run_cli(
                "--workspace",
                str(tmp_path / "ws"),
                "sql",
                "SELECT count(*) AS n FROM events",
                "--json",
            ).json()
            assert rows == [{"n": 0}]  # a failed load changes nothing
        return
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["rows_in"] == (
        report["rows_loaded"] + report["rows_quarantined"] + report["duplicates_skipped"]
    )
    if case.loaded is not None:
        assert report["rows_loaded"] == case.loaded
    if case.quarantined is not None:
        assert report["rows_quarantined"] == case.quarantined
    if case.duplicates is not None:
        assert report["duplicates_skipped"] == case.duplicates
    if case.expect:
        assert any(case.expect in reason for reason in report["quarantine_reasons"]), report
    if case.warns:
        assert any(case.warns in warning for warning in report["warnings"]), report
    stored = run_cli(
        "--workspace",
        str(tmp_path / "ws"),
        "sql",
        "SELECT count(*) AS n FROM quarantine WHERE reason <> ''",
        "--json",
    ).json()
    assert stored == [{"n": report["rows_quarantined"]}]


@pytest.mark.parametrize("option", [["--currency", "POUNDS"], ["--timezone", "Mars/Base"]])
def test_bad_option_creates_no_workspace_and_no_key(option: list[str], tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD)
    ws = tmp_path / "ws"
    result = run_cli("--workspace", str(ws), "ingest", str(path), "--format", "generic", *option)
    assert result.returncode != 0 and result.stderr.startswith("error:"), result.stderr
    assert option[0] in result.stderr and not ws.exists()  # no folder, no key to back up


def test_numeric_times_that_are_no_time_are_quarantined_not_fatal(tmp_path: Path) -> None:
    """A Parquet ``ts`` of epoch numbers holding NaN, an infinity or a number no timestamp
    holds: those rows go to the quarantine (to_timestamp failed the whole load on them)."""
    import duckdb

    from shopmind.ingest import ingest_file
    from shopmind.store import Workspace
    from tests.conftest import options, query

    path = tmp_path / "epochs.parquet"
    rows = "('u1', 1735725600.0), ('u2', 'inf'), ('u3', 'nan'), ('u4', 1e30), ('u5', -1e20), "
    rows += "('u6', 1735725600000.0)"  # milliseconds
    duckdb.sql(
        f"COPY (SELECT user_id, 'i1' AS item_id, 'view' AS event_type, CAST(ts AS DOUBLE) AS ts "
        f"FROM (VALUES {rows}) t(user_id, ts)) TO '{path}' (FORMAT parquet)"
    )
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, path, options(pseudonymize=False))
    assert (report.rows_loaded, report.rows_quarantined) == (2, 4)
    assert report.quarantine_reasons == {"ts ... is not a timestamp": 4}
    loaded = query(
        ws, "SELECT user_id, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') FROM events"
    )
    assert sorted(loaded) == [("u1", "2025-01-01 10:00:00"), ("u6", "2025-01-01 10:00:00")]
