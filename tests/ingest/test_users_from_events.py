"""The users an events file adds are exactly the people of its loaded events: from the
pseudonyms computed once per id when every good row loads, through the events otherwise."""

from __future__ import annotations

from pathlib import Path

from shopmind.ingest import ingest_file
from shopmind.ingest.context import IngestReport
from shopmind.store import Workspace
from tests.conftest import options, query, scalar

HEADER = "event_id,user_id,item_id,event_type,ts\n"


def _load(ws: Workspace, path: Path, *lines: str) -> IngestReport:
    """Write ``lines`` (events, one per line) under the header to ``path`` and load it."""
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines))
    return ingest_file(ws, path, options())


def _users(ws: Workspace) -> set[str]:
    return {r[0] for r in query(ws, "SELECT user_id FROM users")}


def _event_users(ws: Workspace) -> set[str]:
    rows = query(ws, "SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL")
    return {r[0] for r in rows}


def test_users_are_the_people_of_loaded_events_only(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    report = _load(
        ws,
        tmp_path / "a.csv",
        "e1,alice,i1,view,2025-01-01T10:00:00Z",
        "e2,alice,i2,cart,2025-01-01T10:05:00Z",
        "e3,bob,i1,view,2025-01-02T10:00:00Z",
        "e4,carol,i1,teleport,2025-01-02T11:00:00Z",  # quarantined: carol is nobody yet
        "e5,,i3,view,2025-01-02T12:00:00Z",  # no user and no session: quarantined
    )
    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)
    assert report.tables["users"] == 2
    assert _users(ws) == _event_users(ws) and len(_users(ws)) == 2
    assert all(u.startswith("u_") for u in _users(ws))  # pseudonyms, never the raw ids
    # a second file with a repeated key and a stored one: through the events, same rule
    report = _load(
        ws,
        tmp_path / "b.csv",
        "e1,alice,i1,view,2025-01-01T10:00:00Z",  # stored already
        "e6,dave,i2,view,2025-01-03T10:00:00Z",
        "e6,dave,i2,view,2025-01-03T10:00:00Z",  # the same row twice
        "e7,erin,i9,fly,2025-01-03T11:00:00Z",  # quarantined
    )
    assert (report.rows_loaded, report.duplicates_skipped) == (1, 2)
    assert report.tables["users"] == 1
    assert _users(ws) == _event_users(ws) and len(_users(ws)) == 3
    assert scalar(ws, "SELECT count(*) FROM users") == 3  # each person once


def test_a_repeated_event_id_adds_only_the_kept_rows_person(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    report = _load(
        ws,
        tmp_path / "repeats.csv",
        "e1,alice,i1,view,2025-01-01T10:00:00Z",
        "e1,bob,i1,view,2025-01-01T10:00:00Z",  # the same event id: a duplicate
        "e2,carol,i1,view,2025-01-01T10:00:00Z",
    )
    assert (report.rows_loaded, report.duplicates_skipped) == (2, 1)
    assert report.tables["users"] == 2
    assert _users(ws) == _event_users(ws) and len(_users(ws)) == 2
