"""A person erased through the running service gets no personal answer from it afterwards,
and the audit trail names the person a request meant, whichever id form it used."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopmind.ingest import ingest_file
from shopmind.privacy import pseudonymize
from shopmind.serving.service import ServeOptions, Service
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, options
from tests.serving.helpers import Server, make_keys, start_server


@pytest.fixture()
def server(trained: Path, tmp_path: Path) -> Iterator[Server]:
    ws = tmp_path / "ws"
    shutil.copytree(trained, ws)
    keys = {"admin": make_keys(ws, "admin")[0]}  # before the service holds the workspace
    server = start_server(ws, "--rate-limit", "0", log=tmp_path / "serve.log")
    server.keys = keys
    yield server
    server.stop()


def test_erased_user_gets_no_personal_recommendations(server: Server) -> None:
    path = "/v1/users/u3/recommendations?fallback=false&k=2"
    assert server.request("GET", path).status_code == 200  # known before the erasure
    done = server.request("POST", "/v1/privacy/forget", json={"user_id": "u3"})
    assert done.status_code == 200, done.text
    after = server.request("GET", path)
    assert after.status_code == 404 and after.json()["error"]["code"] == "unknown_user"
    fallback = server.request("GET", "/v1/users/u3/recommendations?k=2").json()
    assert fallback["fallback"] == "unknown user: popular items"  # as for anyone unknown
    assert server.request("GET", "/v1/users/u4/recommendations?fallback=false").status_code == 200
    unknown = server.request("POST", "/v1/privacy/forget", json={"user_id": "nobody-raw-7"})
    assert unknown.status_code == 404
    server.stop()
    log = (server.ws.parent / "serve.log").read_text()
    assert "Traceback" not in log and "nobody-raw-7" not in log  # a refusal, not a fault


def test_request_ids_resolve_to_the_person_in_either_form(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,event_type,ts\nalice,i1,view,2025-01-01T10:00:00Z\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options(pseudonymize=True))
    stored = pseudonymize("alice", TEST_KEY)
    service = Service(ws, ServeOptions(pseudonymize_key=TEST_KEY))
    try:  # the raw id and the stored pseudonym name the same person (no hash of a hash)
        assert service.request_user_id("alice") == stored
        assert service.request_user_id(stored) == stored
    finally:
        service.close()
    plain = Service(ws, ServeOptions())
    try:
        assert plain.request_user_id("alice") == "alice"
    finally:
        plain.close()
