"""Streaming a clean file straight from the reader (no materialised copy) gives exactly what
the exact, materialised path gives; a record the strict reader refuses falls back to it."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.ingest import extract as extract_module
from shopmind.ingest import ingest_file
from shopmind.ingest.extract import ReaderSpec, extract
from shopmind.ingest.sqlparts import EVENT_TYPE_ALIASES, event_type_value, text, trimmed
from shopmind.store import Workspace
from tests.conftest import options

EVENTS = (
    "event_id,user_id,item_id,event_type,ts,quantity\n"
    "e1,alice,i1,view,2024-01-01T10:00:00Z,1\n"
    "e2,bob,i2,teleport,2024-01-01T10:01:00Z,1\n"  # line 3: quarantined by validation
    "e3, carl ,i3,purchase,2024-01-01T10:02:00Z,2\n"
    "e1,alice,i1,view,2024-01-01T10:00:00Z,1\n"  # a duplicate key
    "e4,dana,i4,cart,2024-01-01T10:03:00Z,x\n"  # line 6: quantity is not a number
)
SNAPSHOT = (
    "SELECT (SELECT list((e.event_id, e.user_id, e.item_id, e.event_type, e.ts, e.quantity) "
    "ORDER BY e.event_id) FROM events e), "
    "(SELECT list((q.row_number, q.raw, q.reason) ORDER BY q.row_number) FROM quarantine q), "
    "(SELECT list(u.user_id ORDER BY u.user_id) FROM users u)"
)


def _load(tmp_path: Path, name: str, body: str, *, stream: bool) -> tuple[object, ...]:
    path = tmp_path / name
    path.write_text(body)
    ws = Workspace(tmp_path / f"ws-{stream}-{name}")
    report = ingest_file(ws, path, options())
    assert report.reconciles()
    with ws.connect(read_only=True) as con:
        row = con.execute(SNAPSHOT).fetchone()
    assert row is not None
    counts = (report.rows_in, report.rows_loaded, report.rows_quarantined)
    return (counts, report.duplicates_skipped, *row)


def test_a_clean_csv_is_read_through_a_view(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(EVENTS)
    con = duckdb.connect()
    extracted = extract(con, path, ReaderSpec(), tmp_path, stream=True)
    assert extracted.streamed
    kind = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = '_raw'").fetchone()
    assert kind == (1,)
    rows = con.execute("SELECT _row, event_id FROM _raw ORDER BY _row").fetchall()
    assert rows[0] == (2, "e1") and rows[-1] == (6, "e4")


@pytest.mark.parametrize(
    "name, body",
    [
        ("clean.csv", EVENTS),
        # an unreadable line (too many fields): the strict reader fails, the exact path reads
        ("broken.csv", EVENTS.replace("e3,", "e3,extra,", 1)),
        # and with an empty line the exact path is taken from the start
        ("blank.csv", EVENTS.replace("e3,", "e3,extra,", 1) + "\n" + EVENTS.splitlines()[1]),
    ],
)
def test_streaming_changes_nothing(tmp_path: Path, name: str, body: str) -> None:
    streamed = _load(tmp_path, name, body, stream=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(extract_module, "_stream", lambda *args: None)
        exact = _load(tmp_path, name, body, stream=False)
    assert streamed == exact
    quarantined_lines = [line for line, _, _ in streamed[3]]  # type: ignore[attr-defined]
    if name == "clean.csv":
        assert quarantined_lines == [3, 6]
    else:
        assert quarantined_lines == [3, 4, 6]


def test_parquet_streams_and_numbers_rows_from_one(tmp_path: Path) -> None:
    csv_path = tmp_path / "e.csv"
    csv_path.write_text(EVENTS)
    parquet = tmp_path / "e.parquet"
    import pyarrow.parquet as pq

    read = f"SELECT * FROM read_csv('{csv_path}', all_varchar = true)"
    table = duckdb.execute(read).to_arrow_table()
    pq.write_table(table, parquet, row_group_size=2)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    assert extract(con, parquet, ReaderSpec(), tmp_path, stream=True).streamed  # 3 row groups
    ws = Workspace(tmp_path / "ws")
    report = ingest_file(ws, parquet, options())
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (5, 2, 2)
    with ws.connect(read_only=True) as con:
        lines = con.execute("SELECT row_number FROM quarantine ORDER BY 1").fetchall()
    assert lines == [(2,), (5,)]  # Parquet rows are numbered from 1 (no header line)


_OLD_TEXT = (
    "CASE WHEN length(trim(CAST(x AS VARCHAR))) > 4 THEN trim(CAST(x AS VARCHAR)) "
    "WHEN lower(trim(CAST(x AS VARCHAR))) IN ('', 'nan', 'null', 'none', 'na', 'n/a') "
    "THEN NULL ELSE trim(CAST(x AS VARCHAR)) END"
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.text(alphabet=" \t\u00a0\u3000\u2003aNnUuLl/é中x1", max_size=9),
        st.sampled_from(["NULL", " nan ", "N/A", "None ", "abcde", " abcde", "ñañ"]),
    )
)
def test_text_fast_path_matches_the_trimmed_reading(value: str | None) -> None:
    con = duckdb.connect()
    row = con.execute(f"SELECT {text('x')}, {_OLD_TEXT} FROM (SELECT ?::VARCHAR AS x)", [value])
    new, old = row.fetchone() or (None, None)
    assert new == old


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(alphabet=" \t\u00a0\u3000\u2003aZ+0:é中x1", max_size=9)))
def test_trimmed_is_trim(value: str | None) -> None:
    con = duckdb.connect()
    row = con.execute(f"SELECT {trimmed('x')}, trim(x) FROM (SELECT ?::VARCHAR AS x)", [value])
    new, old = row.fetchone() or (None, None)
    assert new == old


@pytest.mark.parametrize(
    "value", [None, "", "view", " View ", "PV", "add_to_cart", "purchase", "refund ", "teleport"]
)
def test_event_type_fast_path_keeps_the_mapping(value: str | None) -> None:
    old = " ".join(
        f"WHEN lower(trim(x)) IN ({', '.join(repr(a) for a in aliases)}) THEN '{canonical}'"
        for canonical, aliases in EVENT_TYPE_ALIASES.items()
    )
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {event_type_value('x')}, CASE {old} END FROM (SELECT ?::VARCHAR AS x)", [value]
    ).fetchone()
    assert row is not None and row[0] == row[1]


def test_a_file_rewritten_during_the_load_is_refused_and_nothing_is_loaded(
    tmp_path: Path,
) -> None:
    """The streamed path reads the file more than once (hash, staging, vault contacts): rows
    of two versions must never be combined (here: each person would get another's e-mail)."""
    from shopmind.errors import IngestError

    head = "event_id,user_id,item_id,event_type,ts,quantity,email\n"
    rows = [f"e{i},u{i},i{i},view,2024-01-01T10:00:00Z,1,user{i}@x.com\n" for i in range(6)]
    path = tmp_path / "events.csv"
    path.write_text(head + "".join(rows))
    os.utime(path, ns=(10**18, 10**18))  # so the rewrite's time differs on any clock
    ws = Workspace(tmp_path / "ws")

    def rewrite(stage: str) -> None:
        if stage == "deduplicate":  # same size, rows in the opposite order
            path.write_text(head + "".join(reversed(rows)))

    with pytest.raises(IngestError, match="changed while it was being loaded"):
        ingest_file(ws, path, options(), progress=rewrite)
    with ws.connect(read_only=True) as con:
        counts = [
            con.execute(f"SELECT count(*) FROM {table}").fetchone()
            for table in ("events", "vault", "ingestions", "users")
        ]
    assert counts == [(0,)] * 4
    report = ingest_file(ws, path, options())  # the complete file loads
    assert report.rows_loaded == 6
