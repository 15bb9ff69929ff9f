"""The id the service stores for a person a request names (a new conversation's customer)."""

from __future__ import annotations

from pathlib import Path

from shopmind.ingest import ingest_file
from shopmind.privacy import pseudonymize
from shopmind.serving.service import ServeOptions, Service
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, options

EVENTS = "user_id,item_id,event_type,ts\nalice,i1,view,2025-01-01T10:00:00Z\n"


def _person_ids(tmp_path: Path, name: str, pseudonymize_ids: bool) -> list[str]:
    path = tmp_path / f"{name}.csv"
    path.write_text(EVENTS)
    ws = Workspace(tmp_path / name)
    ingest_file(ws, path, options(pseudonymize=pseudonymize_ids))
    service = Service(ws, ServeOptions(pseudonymize_key=TEST_KEY))
    try:
        return [service.person_id(given) for given in ("alice", "bob")]
    finally:
        service.close()


def test_a_pseudonymised_workspace_stores_pseudonyms(tmp_path: Path) -> None:
    ids = _person_ids(tmp_path, "pseudo", True)
    assert ids == [pseudonymize("alice", TEST_KEY), pseudonymize("bob", TEST_KEY)]


def test_a_workspace_of_plain_ids_keeps_them(tmp_path: Path) -> None:
    """The same person loaded later with --pseudonymize off gets the same id (no split)."""
    assert _person_ids(tmp_path, "plain", False) == ["alice", "bob"]
