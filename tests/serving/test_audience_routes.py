"""Audience and privacy routes on a real ``shopmind serve``: pseudonyms for readers,
original ids only for ``audience.reveal``, every reveal audited with its count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopmind.config import DEV_PSEUDONYMIZE_KEY
from shopmind.ingest import IngestOptions, ingest_file
from shopmind.marketing.audience import AudienceSpec, build_audience
from shopmind.privacy import pseudonymize
from shopmind.store import Workspace
from shopmind.store.audit import head_path, verify
from tests.serving.helpers import ROLES, Server, assert_error_shape, make_keys, start_server

DEV = DEV_PSEUDONYMIZE_KEY.encode()
USERS = (
    "user_id,email,phone\n"
    "alice77,alice.api@example.com,+44 7700 900123\n"
    "bob88,bob.api@example.org,13812345678\n"
    "carl99,carl.api@example.net,\n"
)
EVENTS = (
    "user_id,item_id,event_type,ts\n"
    "alice77,i1,view,2024-01-01T10:00:00Z\n"
    "bob88,i2,view,2024-01-02T10:00:00Z\n"
    "carl99,i2,view,2024-01-03T10:00:00Z\n"
)
RAW = ("alice77", "bob88", "carl99", "alice.api@example.com")
NOT_REVEALING = ("analyst", "agent", "risk_analyst", "service")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("audience")
    ws = Workspace(root / "ws")
    for name, text, table in (("users.csv", USERS, "users"), ("events.csv", EVENTS, "events")):
        (root / name).write_text(text)
        ingest_file(ws, root / name, IngestOptions("generic", key=DEV, table=table))
    scores = root / "scores.csv"
    ids = [pseudonymize(u, DEV) for u in ("alice77", "bob88", "carl99")]
    scores.write_text(
        "user_id,score\n" + "".join(f"{u},{s}\n" for u, s in zip(ids, (3, 2, 1), strict=True))
    )
    build_audience(ws, AudienceSpec("spring", scores=scores, top=2))
    keys = dict(zip(ROLES, make_keys(ws.root, *ROLES), strict=True))
    server = start_server(ws.root, "--rate-limit", "0")
    server.keys = keys
    yield server
    server.stop()


def test_readers_see_pseudonyms_only(server: Server) -> None:
    listed = server.request("GET", "/v1/audiences", "marketer")
    assert listed.status_code == 200, listed.text
    assert listed.json()["audiences"][0] == {
        "audience": "spring",
        "members": 2,
        "source": listed.json()["audiences"][0]["source"],
        "created_at": listed.json()["audiences"][0]["created_at"],
    }
    got = server.request("GET", "/v1/audiences/spring", "marketer")
    assert got.status_code == 200
    members = got.json()["members"]
    assert [m["user_id"] for m in members] == [pseudonymize(u, DEV) for u in ("alice77", "bob88")]
    assert all(m["original_id"] is None and m["email"] is None for m in members)
    assert not any(raw in got.text for raw in RAW)
    for role in NOT_REVEALING[1:]:
        assert_error_shape(server.request("GET", "/v1/audiences", role), 403)


@pytest.mark.parametrize("role", NOT_REVEALING)
def test_reveal_refused_without_permission(server: Server, role: str) -> None:
    answer = server.request("POST", "/v1/audiences/spring/reveal", role)
    error = assert_error_shape(answer, 403)
    assert "audience.reveal" in error["message"]
    assert not any(raw in answer.text for raw in RAW)


def test_reveal_gives_ids_and_is_audited(server: Server) -> None:
    answer = server.request("POST", "/v1/audiences/spring/reveal", "marketer")
    assert answer.status_code == 200, answer.text
    members = answer.json()["members"]
    assert [(m["original_id"], m["email"]) for m in members] == [
        ("alice77", "alice.api@example.com"),
        ("bob88", "bob.api@example.org"),
    ]
    assert_error_shape(server.request("POST", "/v1/audiences/nope/reveal", "marketer"), 404)
    entries = server.request("GET", "/v1/admin/audit", "admin", params={"action": "reveal"}).json()[
        "entries"
    ]
    vault = [e for e in entries if e["action"] == "vault reveal"]
    assert [(e["role"], e["target"], e["outcome"]) for e in vault] == [
        ("marketer", "audience=spring members=2 people=2", "ok")
    ]
    assert not any(raw in str(e) for e in entries for raw in RAW)


def test_export_over_the_api(server: Server) -> None:
    body = {"user_id": "alice77"}
    assert_error_shape(server.request("POST", "/v1/privacy/export", "marketer", json=body), 403)
    answer = server.request("POST", "/v1/privacy/export", "admin", json=body)
    assert answer.status_code == 200, answer.text
    document = answer.json()["document"]
    assert document["vault"]["email"] == "alice.api@example.com"
    assert document["user_id"] == pseudonymize("alice77", DEV)
    assert [e["item_id"] for e in document["tables"]["events"]] == ["i1"]
    assert "bob88" not in answer.text


def test_forget_over_the_api(server: Server) -> None:
    assert_error_shape(
        server.request("POST", "/v1/privacy/forget", "marketer", json={"user_id": "carl99"}), 403
    )
    done = server.request("POST", "/v1/privacy/forget", "admin", json={"user_id": "carl99"})
    assert done.status_code == 200, done.text
    assert done.json()["rows"] == {"events": 1, "users": 1, "vault": 2}  # no phone
    again = server.request("POST", "/v1/privacy/forget", "admin", json={"user_id": "carl99"})
    assert_error_shape(again, 404)
    log = server.request("GET", "/v1/privacy/requests", "admin").json()["requests"]
    assert [r["kind"] for r in log] == ["forget", "export"]
    assert log[0]["rows_removed"] == {"events": 1, "users": 1, "vault": 2}  # an object, not text
    assert "carl99" not in str(log) and pseudonymize("carl99", DEV) not in str(log)


def test_audit_chain_holds_after_stop(server: Server, tmp_path: Path) -> None:
    server.request("GET", "/v1/audiences/spring", "marketer")
    assert server.stop() == 0
    with Workspace(server.ws).connect(read_only=True) as con:
        assert verify(con, head_path(Workspace(server.ws))).ok
        targets = [str(r[0]) for r in con.execute("SELECT target FROM audit_log").fetchall()]
    assert not any(raw in t for t in targets for raw in RAW)
