"""The re-identification vault: filled at ingest, ciphertext only, one audited reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.ingest import ingest_file
from shopmind.privacy import pseudonymize
from shopmind.store import Workspace
from shopmind.store.audit import audited_transaction, head_path, verify
from shopmind.store.vault import VaultError, reveal, vault_key
from tests.conftest import TEST_KEY, options

USERS = (
    "user_id,email,phone,country\n"
    "alice77,alice.vault@example.com,+44 7700 900123,GB\n"
    "bob88,bob.vault@example.org,13812345678,CN\n"
)
EVENTS = (
    "user_id,item_id,event_type,ts\n"
    "alice77,i1,view,2024-01-01T10:00:00Z\n"
    "carl99,i2,view,2024-01-02T10:00:00Z\n"
)
RAW = (b"alice77", b"bob88", b"carl99", b"alice.vault@example.com", b"13812345678", b"900123")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "users.csv").write_text(USERS)
    (tmp_path / "events.csv").write_text(EVENTS)
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, tmp_path / "users.csv", options(table="users"))
    ingest_file(ws, tmp_path / "events.csv", options())
    return ws


def _reveal(ws: Workspace, ids: list[str], role: str | None, keys: list[bytes]) -> dict:
    # a refusal (VaultError) is committed with its audit entry, as the product's callers do
    with ws.connect() as con, audited_transaction(con, ws, keep_on=(VaultError,)) as chain:
        found = reveal(con, ids, keys, principal="test", role=role, purpose="t", chain=chain)
    return found


def test_ingest_fills_the_vault_with_ciphertext_only(ws: Workspace) -> None:
    with ws.connect() as con:
        rows = con.execute("SELECT user_id, field FROM vault ORDER BY ALL").fetchall()
        con.execute("CHECKPOINT")
    alice, bob, carl = (pseudonymize(u, TEST_KEY) for u in ("alice77", "bob88", "carl99"))
    assert sorted(rows) == sorted(
        [
            (alice, "user_id"),
            (alice, "email"),
            (alice, "phone"),
            (bob, "user_id"),
            (bob, "email"),
            (bob, "phone"),
            (carl, "user_id"),
        ]
    )
    for path in ws.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for raw in RAW:
                assert raw not in data, (path, raw)


def test_reveal_gives_originals_and_audits_the_count(ws: Workspace) -> None:
    alice, carl = pseudonymize("alice77", TEST_KEY), pseudonymize("carl99", TEST_KEY)
    found = _reveal(ws, [alice, carl, "u_unknown"], "marketer", [vault_key(TEST_KEY)])
    assert found == {
        alice: {
            "user_id": "alice77",
            "email": "alice.vault@example.com",
            "phone": "+44 7700 900123",
        },
        carl: {"user_id": "carl99"},
    }
    with ws.connect(read_only=True) as con:
        entries = con.execute("SELECT role, action, target, outcome FROM audit_log").fetchall()
        assert verify(con, head_path(ws)).ok
    assert entries == [("marketer", "vault reveal", "t people=2", "ok")]


@pytest.mark.parametrize("role", ["analyst", "agent", "risk_analyst", "service", None])
def test_reveal_refused_without_the_permission(ws: Workspace, role: str | None) -> None:
    alice = pseudonymize("alice77", TEST_KEY)
    with pytest.raises(VaultError, match="may not reveal"):
        _reveal(ws, [alice], role, [vault_key(TEST_KEY)])
    with ws.connect(read_only=True) as con:
        entries = con.execute("SELECT action, outcome FROM audit_log").fetchall()
    assert entries == [("vault reveal", "denied")]


def test_wrong_key_and_moved_ciphertext_are_refused(ws: Workspace) -> None:
    alice, bob = pseudonymize("alice77", TEST_KEY), pseudonymize("bob88", TEST_KEY)
    with pytest.raises(VaultError, match="key this process does not hold"):
        _reveal(ws, [alice], "admin", [vault_key(b"another-key-0123456789")])
    with ws.connect() as con:  # swap two people's e-mails: the row binding must catch it
        con.execute(
            "UPDATE vault SET user_id = CASE user_id WHEN ? THEN ? ELSE ? END "
            "WHERE field = 'email'",
            [alice, bob, alice],
        )
    with pytest.raises(VaultError, match="altered or moved"):
        _reveal(ws, [alice], "admin", [vault_key(TEST_KEY)])


def test_vault_key_choice() -> None:
    derived = vault_key(TEST_KEY)
    assert derived is not None and len(derived) == 32 and derived != TEST_KEY
    assert vault_key(TEST_KEY, "a separate vault key") != derived
    assert vault_key(None, "a separate vault key") == vault_key(TEST_KEY, "a separate vault key")
    assert vault_key(None) is None and vault_key(b"") is None


def test_configured_vault_key_is_used_at_ingest(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text(USERS)
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, tmp_path / "users.csv", options(table="users", vault_key="ops-only-key"))
    alice = pseudonymize("alice77", TEST_KEY)
    with pytest.raises(VaultError):
        _reveal(ws, [alice], "admin", [vault_key(TEST_KEY)])
    found = _reveal(ws, [alice], "admin", [vault_key(None, "ops-only-key")])
    assert found[alice]["email"] == "alice.vault@example.com"


def test_audiences_from_segment_and_plan_then_reveal(ws: Workspace, tmp_path: Path) -> None:
    import csv
    import json
    from datetime import UTC, datetime

    from shopmind.marketing.audience import (
        AudienceError,
        AudienceSpec,
        build_audience,
        export_audience,
        latest_plan,
    )

    alice, bob, carl = (pseudonymize(u, TEST_KEY) for u in ("alice77", "bob88", "carl99"))
    with ws.connect() as con:
        for user, segment, clv in (
            (alice, "Champions", 50.0),
            (bob, "Champions", 80.0),
            (carl, "At Risk", 5.0),
        ):
            con.execute(
                "INSERT INTO user_profiles (user_id, rfm_segment, clv, computed_at) "
                "VALUES (?, ?, ?, ?)",
                [user, segment, clv, datetime.now(UTC)],
            )
    assert build_audience(ws, AudienceSpec("champs", segment="Champions"))["members"] == 2
    with pytest.raises(AudienceError, match="here: At Risk, Champions"):
        build_audience(ws, AudienceSpec("none", segment="Hibernating"))

    plan_csv = tmp_path / "audience.csv"
    plan_csv.write_text(f"user_id,uplift,expected_profit\n{carl},0.1,9.0\n{alice},0.3,4.0\n")
    (ws.reports_dir / "campaign_plan.json").write_text(json.dumps({"out": str(plan_csv)}))
    spec = AudienceSpec("plan", scores=latest_plan(ws), min_score=5.0)
    assert build_audience(ws, spec)["members"] == 1
    # ids the workspace does not hold (a stale file, a person erased since) never join
    stale = tmp_path / "stale.csv"
    stale.write_text(f"user_id,score\n{alice},0.9\nu_gone,0.8\nsomeone_else,0.7\n")
    built = build_audience(ws, AudienceSpec("stale", scores=stale))
    assert (built["members"], built["unknown_ids_left_out"]) == (1, 2)

    out = tmp_path / "champs.csv"
    export_audience(ws, "champs", out, reveal=True, keys=[vault_key(TEST_KEY)], role="marketer")
    rows = list(csv.DictReader(out.open()))
    assert [(r["user_id"], r["original_id"], r["email"]) for r in rows] == [
        (bob, "bob88", "bob.vault@example.org"),  # ranked by CLV
        (alice, "alice77", "alice.vault@example.com"),
    ]
    refused = tmp_path / "refused.csv"
    with pytest.raises(VaultError):
        export_audience(
            ws, "plan", refused, reveal=True, keys=[vault_key(TEST_KEY)], role="analyst"
        )
    assert not refused.exists()
    with ws.connect(read_only=True) as con:
        entries = con.execute("SELECT role, action, outcome FROM audit_log ORDER BY seq").fetchall()
    assert entries == [
        ("marketer", "vault reveal", "ok"),
        ("marketer", "audience export", "ok"),
        ("analyst", "vault reveal", "denied"),
    ]


def test_a_reload_encrypts_only_new_people(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "more.csv").write_text(
        "user_id,item_id,event_type,ts\n"
        "alice77,i3,view,2024-01-03T10:00:00Z\n"
        "dana11,i4,view,2024-01-04T10:00:00Z\n"
        "dana11,i5,view,2024-01-04T11:00:00Z\n"
    )
    query = "SELECT user_id, field, nonce, ciphertext FROM vault ORDER BY ALL"
    with ws.connect(read_only=True) as con:
        before = con.execute(query).fetchall()
    report = ingest_file(ws, tmp_path / "more.csv", options())
    assert report.tables["vault"] == 1  # dana only: alice's original id is kept as it was
    with ws.connect(read_only=True) as con:
        after = con.execute(query).fetchall()
    dana = pseudonymize("dana11", TEST_KEY)
    assert sorted(set(after) - set(before)) == [r for r in after if r[0] == dana]
    assert set(before) <= set(after)
    nonces = [bytes(r[2]) for r in after]
    assert len(set(nonces)) == len(nonces) and all(len(n) == 12 for n in nonces)
    found = _reveal(ws, [dana], "admin", [vault_key(TEST_KEY)])
    assert found == {dana: {"user_id": "dana11"}}


def test_a_new_contact_replaces_the_stored_one(ws: Workspace, tmp_path: Path) -> None:
    """A later load's e-mail replaces the vault's (one row per user and field); the original
    id stays as first stored."""
    (tmp_path / "moved.csv").write_text(
        "user_id,email,phone,country\nalice77,alice.new@example.com,+44 7700 900123,GB\n"
    )
    alice = pseudonymize("alice77", TEST_KEY)
    query = "SELECT field, nonce FROM vault WHERE user_id = ? ORDER BY field"
    with ws.connect(read_only=True) as con:
        before = dict(con.execute(query, [alice]).fetchall())
    ingest_file(ws, tmp_path / "moved.csv", options(table="users"))
    with ws.connect(read_only=True) as con:
        after = dict(con.execute(query, [alice]).fetchall())
        rows = con.execute("SELECT count(*) FROM vault WHERE user_id = ?", [alice]).fetchone()
    assert rows == (3,)  # user_id, email, phone: replaced, not added
    assert after["user_id"] == before["user_id"]
    assert after["email"] != before["email"]
    found = _reveal(ws, [alice], "admin", [vault_key(TEST_KEY)])
    assert found[alice]["email"] == "alice.new@example.com"
    assert found[alice]["user_id"] == "alice77"
