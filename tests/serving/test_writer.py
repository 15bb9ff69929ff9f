"""The writer in-process: micro-batches, answers, the bound, listeners, the audit chain."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shopmind.ingest import IngestOptions
from shopmind.serving.app import feed_risk
from shopmind.serving.events import EventLoader
from shopmind.serving.sessions import SessionHistory
from shopmind.serving.writer import Busy, Writer
from shopmind.store import Workspace
from shopmind.store.audit import AuditChain, AuditEntry, head_path, verify
from tests.conftest import TEST_KEY


def _event(event_id: str, event_type: str = "cart", **kw: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "user_id": "carol",
        "session_id": "x-w",
        "event_type": event_type,
        "item_id": "i1",
        "ts": "2025-01-01T00:00:00+00:00",
        **kw,
    }


def test_writer_lands_answers_bounds_and_tells_listeners(workspace: Workspace) -> None:
    recorded: list[tuple[str, str, float]] = []
    scorer = SimpleNamespace(record_event=lambda u, t, at: recorded.append((u, t, at)))
    with workspace.connect() as con:
        loader = EventLoader(IngestOptions(format="generic", key=TEST_KEY))
        sessions = SessionHistory(lambda _sid: [])
        writer = Writer(
            con, loader, AuditChain(con, head_path(workspace)), sessions, max_pending_events=5
        )
        writer.listeners.append(
            lambda landed: feed_risk(SimpleNamespace(risk_scorer=scorer), landed)
        )
        entry = AuditEntry("key:test", "service", "POST /v1/events", "events=3", "pending")
        writer.start()
        with pytest.raises(Busy):
            writer.submit_events([_event(f"e{i}") for i in range(6)], entry)  # over the bound
        assert sessions.items("x-w") == []  # the session is now followed in memory
        first = writer.submit_events([_event("e1"), _event("e2", "view"), _event("e1")], entry)
        second = writer.submit_events([_event("e3", "teleport")], entry)
        a, b = first.result(timeout=60), second.result(timeout=60)
        writer.audit(AuditEntry("key:test", "service", "GET /v1/x", None, "200"))
        writer.close()
        assert (a.accepted, a.duplicates, a.quarantined) == ([0, 1], [2], {})
        assert b.quarantined and "teleport" in b.quarantined[0]
        assert sessions.items("x-w") == ["i1", "i1"]  # e1 (cart) and e2 (view), in time order
        assert len(recorded) == 1 and recorded[0][1] == "cart"
        assert recorded[0][0].startswith("u_")  # the stored (pseudonymised) user id
        rows = con.execute("SELECT count(*) FROM events").fetchall()
        assert rows[0][0] == 2
        report = verify(con, head_path(workspace))
        assert report.ok and report.entries == 3  # two events calls and one read


def test_a_failed_write_does_not_break_later_event_batches(workspace: Workspace) -> None:
    """A rolled-back transaction after the run's ``ingestions`` row was committed (here a
    failing call job, e.g. a review decision for an unknown review) must not make every
    later batch fail on that row's primary key."""
    with workspace.connect() as con:
        loader = EventLoader(IngestOptions(format="generic", key=TEST_KEY))
        writer = Writer(
            con, loader, AuditChain(con, head_path(workspace)), SessionHistory(lambda _s: [])
        )
        entry = AuditEntry("key:test", "service", "POST /v1/events", "events=1", "pending")
        writer.start()
        assert writer.submit_events([_event("f1")], entry).result(timeout=60).accepted == [0]

        def fail(_con: Any) -> None:
            raise ValueError("no such review")

        with pytest.raises(ValueError):
            writer.submit_call(fail, entry).result(timeout=60)
        later = writer.submit_events([_event("f2")], entry).result(timeout=60)
        writer.close()
        assert later.accepted == [0]
        assert con.execute("SELECT rows_loaded FROM ingestions").fetchall() == [(2,)]
