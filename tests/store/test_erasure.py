"""Erasure (``forget``) and retention on real workspace files: every table walked through
information_schema, other people's rows compared with a snapshot."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shopmind.analytics.trends import trends
from shopmind.features.tables import duckdb_tables
from shopmind.ingest import ingest_file
from shopmind.privacy import pseudonymize
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from shopmind.store.audit import verify
from shopmind.store.erasure import PrivacyRequestError
from shopmind.store.outputs import stale_models
from shopmind.store.requests import forget
from shopmind.store.retention import apply_retention
from tests.conftest import TEST_KEY, options

KEPT = {"audit_log", "privacy_requests", "schema_migrations"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated shop plus rows in every user-bearing table the simulator leaves empty."""
    ws = Workspace(tmp_path_factory.mktemp("erase") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=150, days=20, seed=3)), key=TEST_KEY)
    with ws.connect() as con:
        target, other = _target(con), "u0000001"
        order = con.execute(
            "SELECT order_id FROM orders WHERE user_id = ? LIMIT 1", [target]
        ).fetchone()[0]
        now = datetime.now(UTC)
        for user, conv in ((target, "c_t"), (other, "c_o")):
            con.execute(
                "INSERT INTO user_profiles (user_id, computed_at) VALUES (?, ?)", [user, now]
            )
            con.execute(
                "INSERT INTO conversations VALUES "
                "(?, ?, 'en', NULL, 'open', false, NULL, ?, ?, NULL)",
                [conv, user, now, now],
            )
            con.execute(
                "INSERT INTO messages VALUES (?, 1, 'customer', 'hi', NULL, NULL, ?)", [conv, now]
            )
            con.execute(
                "INSERT INTO quarantine VALUES ('f.csv', 3, ?, 'bad ts', ?, 'generic', 'ing_x')",
                [json.dumps({"user_id": user, "ts": "never"}), now],
            )
        con.execute(
            "INSERT INTO risk_reviews VALUES ('r1', 'order', ?, NULL, 80, 'review', NULL, 'open', "
            "?, NULL, NULL, NULL)",
            [order, now],
        )
        con.execute(
            "INSERT INTO persons VALUES (?, 'p_1', ?), (?, 'p_1', ?)", [target, now, other, now]
        )
        con.execute(
            "INSERT INTO identity_edges VALUES ('email', 'h_x', ?, ?, 'users', true, NULL, ?)",
            [target, other, now],
        )
        members = json.dumps([[target, other]])
        con.execute(
            "INSERT INTO identity_merges (merge_id, action, created_at, person_id, "
            "members_before, members_after, reason, forced) "
            "VALUES ('m1', 'merge', ?, 'p_1', ?, ?, 'email', false)",
            [now, members, members],
        )
        # a table nobody told erasure about: found through information_schema
        con.execute("CREATE TABLE loyalty (customer_id VARCHAR, points INTEGER)")
        con.execute("INSERT INTO loyalty VALUES (?, 10), (?, 20)", [target, other])
    (ws.reports_dir / "recs.csv").write_text(
        f"user_id,rank,item_id\n{target},1,i1\n{other},1,i2\n{target},2,i3\n"
    )
    (ws.reports_dir / "note.html").write_text(f"<p>top customer {target}</p>")
    (ws.reports_dir / "summary.json").write_text('{"orders": 160}')
    model = ws.models_dir / "recommend" / "markov" / "model.pkl"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"model trained on everyone")
    return ws.root


def _target(con: Any) -> str:
    """A user with orders, tickets, labels and a campaign assignment."""
    row = con.execute(
        "SELECT t.user_id FROM tickets t JOIN campaign_assignments c USING (user_id) "
        "WHERE t.user_id IN (SELECT user_id FROM orders) ORDER BY 1 LIMIT 1"
    ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(base, tmp_path / "ws")
    return Workspace(tmp_path / "ws")


def snapshot(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    with ws.connect(read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_catalog = current_database()"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            cursor = con.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            out[table] = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return out


def belongs(row: dict[str, Any], user: str, owned: set[str]) -> bool:
    """Independent of the library: a row is the user's when a cell is the user's id (or a
    JSON text holding it as a value) or the id of one of the user's orders or conversations."""
    cells = {str(v) for v in row.values() if v is not None}
    return any(c == user or json.dumps(user) in c for c in cells) or bool(cells & owned)


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def test_forget_removes_every_row_and_keeps_the_others(ws: Workspace) -> None:
    before = snapshot(ws)
    user = _target_of(ws)
    owned = {r["order_id"] for r in before["orders"] if r["user_id"] == user} | {"c_t"}
    assert len(owned) > 1

    result = forget(ws, user, TEST_KEY)

    after = snapshot(ws)
    # 1. no row of the user in any table (every column of every table, as text)
    for table, rows in after.items():
        if table in KEPT:
            continue
        for row in rows:
            text = _key(row)
            assert user not in text, (table, row)
            assert not ({str(v) for v in row.values()} & owned), (table, row)
    # 2. everyone else's rows unchanged (the merge history keeps the other member)
    for table, rows in before.items():
        if table in KEPT | {"model_marks", "identity_merges"}:
            continue
        expected = Counter(_key(r) for r in rows if not belongs(r, user, owned))
        assert Counter(_key(r) for r in after[table]) == expected, table
        removed = len(rows) - sum(expected.values())
        assert result.rows.get(table, 0) == removed, table
    merge = after["identity_merges"][0]
    assert json.loads(merge["members_after"]) == [["[erased]", "u0000001"]]
    for table in (
        "events",
        "orders",
        "order_items",
        "labels",
        "vault",
        "loyalty",
        "quarantine",
        "messages",
        "risk_reviews",
        "persons",
        "identity_edges",
        "tickets",
    ):
        assert result.rows.get(table, 0) > 0, table
    # 3. the request is logged without the id; the audit trail holds
    (request,) = after["privacy_requests"]
    assert user not in _key(request)
    assert request["kind"] == "forget" and request["subject_hash"].startswith("r_")
    with ws.connect(read_only=True) as con:
        assert verify(con).ok
        entries = con.execute("SELECT action, target FROM audit_log").fetchall()
        assert ("forget" in {a for a, _ in entries}) and all(user not in str(t) for _, t in entries)
        stale = stale_models(con, ws)
    # 4. models marked stale, outputs cleaned
    assert [s["path"] for s in stale] == ["models/recommend/markov/model.pkl"]
    assert (ws.reports_dir / "recs.csv").read_text() == "user_id,rank,item_id\nu0000001,1,i2\n"
    assert not (ws.reports_dir / "note.html").exists()
    assert (ws.reports_dir / "summary.json").exists()
    raw = ws.raw_dir / "simulated_seed3" / "users.parquet"
    assert user.encode() not in raw.read_bytes()


def _target_of(ws: Workspace) -> str:
    with ws.connect(read_only=True) as con:
        return _target(con)


def test_retraining_clears_the_stale_mark(ws: Workspace) -> None:
    forget(ws, _target_of(ws), TEST_KEY)
    model = ws.models_dir / "recommend" / "markov" / "model.pkl"
    later = datetime.now(UTC).timestamp() + 5
    model.write_bytes(b"retrained")
    import os

    os.utime(model, (later, later))
    with ws.connect(read_only=True) as con:
        assert stale_models(con, ws) == []


def test_unknown_user_changes_nothing(ws: Workspace) -> None:
    before = snapshot(ws)
    with pytest.raises(PrivacyRequestError, match="No user 'nobody'"):
        forget(ws, "nobody", TEST_KEY)
    assert snapshot(ws) == before


def test_dry_run_counts_what_forget_removes(ws: Workspace) -> None:
    before = snapshot(ws)
    user = _target_of(ws)
    planned = forget(ws, user, TEST_KEY, dry_run=True)
    assert snapshot(ws) == before
    assert (ws.reports_dir / "note.html").exists()
    done = forget(ws, user, TEST_KEY)
    assert planned.rows == done.rows and planned.total_rows > 10
    assert planned.files == done.files


def test_forget_takes_the_raw_id_of_a_pseudonymised_load(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,item_id,event_type,ts\n"
        "alice77,i1,view,2024-01-01T10:00:00Z\n"
        "alice77,i2,teleport,2024-01-01T11:00:00Z\n"
        "bob88,i1,view,2024-01-02T10:00:00Z\n"
        "dave55,i3,teleport,2024-01-03T10:00:00Z\n"
    )
    report = ingest_file(ws, events, options())
    assert report.rows_quarantined == 2
    pseudonym = pseudonymize("alice77", TEST_KEY)
    result = forget(ws, "alice77", TEST_KEY)
    assert result.rows == {"events": 1, "users": 1, "quarantine": 1, "vault": 1}
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)
        assert con.execute(
            "SELECT count(*) FROM events WHERE user_id = ?", [pseudonymize("bob88", TEST_KEY)]
        ).fetchone() == (1,)
    # the stored pseudonym is accepted too; the user is gone now
    with pytest.raises(PrivacyRequestError):
        forget(ws, pseudonym, TEST_KEY)
    # a user known only from a quarantined record is found there
    assert forget(ws, "dave55", TEST_KEY).rows == {"quarantine": 1}


def test_retention_keeps_kept_period_numbers_and_aggregates(ws: Workspace) -> None:
    with ws.connect(read_only=True) as con:
        first, last = con.execute("SELECT min(ts), max(ts) FROM events").fetchone()
        by_type = dict(con.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall())
    as_of = last + timedelta(hours=1)
    metrics = ("active_users", "conversion", "orders")
    with duckdb_tables(ws) as tables:
        before = {m: trends(tables, m, "day")["points"] for m in metrics}

    result = apply_retention(ws, 10, as_of=as_of)

    cutoff = result.detail["cutoff"]
    assert cutoff.hour == 0 and cutoff.minute == 0 and first < cutoff
    with duckdb_tables(ws) as tables:
        after = {m: trends(tables, m, "day")["points"] for m in metrics}
    for metric in metrics:
        kept = [p for p in before[metric] if str(p["period"]) >= cutoff.date().isoformat()]
        assert kept and after[metric][-len(kept) :] == kept, metric
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT min(ts) FROM events").fetchone()[0] >= cutoff
        kept_types = dict(
            con.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall()
        )
        summarised = dict(
            con.execute("SELECT event_type, sum(events) FROM events_daily GROUP BY 1").fetchall()
        )
        users = con.execute("SELECT sum(events) FROM user_history").fetchone()[0]
        logged = con.execute("SELECT kind, rows_removed FROM privacy_requests").fetchall()
    for event_type, n in by_type.items():
        assert kept_types.get(event_type, 0) + summarised.get(event_type, 0) == n
    assert users == result.rows["events"] > 0
    assert logged == [("retention", json.dumps({"events": result.rows["events"]}))]


QUARANTINED_17850 = (
    "SELECT count(*) FROM quarantine WHERE "
    "regexp_replace(json_extract_string(raw, '$.CustomerID'), '\\.0+$', '') = '17850'"
)


@pytest.mark.slow
@pytest.mark.realdata
def test_forget_on_online_retail(tmp_path: Path) -> None:
    from tests.conftest import data_file

    ws = Workspace(tmp_path / "ws")
    source = data_file("online_retail/online_retail.parquet")
    ingest_file(ws, source, options("online_retail", pseudonymize=False))
    with ws.connect(read_only=True) as con:
        mine, total = con.execute(
            "SELECT count(*) FILTER (WHERE user_id = '17850'), count(*) FROM events"
        ).fetchone()
        orders = con.execute("SELECT count(*) FROM orders WHERE user_id = '17850'").fetchone()[0]
        quarantined = con.execute(QUARANTINED_17850).fetchone()[0]
    assert mine > 0 and orders > 0
    result = forget(ws, "17850.0", TEST_KEY)  # the id as the file holds it (a float column)
    assert result.rows["events"] == mine and result.rows["orders"] == orders
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == total - mine
        for table in ("events", "orders", "users"):
            n = con.execute(f"SELECT count(*) FROM {table} WHERE user_id = '17850'").fetchone()
            assert n == (0,), table
        assert con.execute(QUARANTINED_17850).fetchone() == (0,)
    assert result.rows.get("quarantine", 0) == quarantined


def test_an_order_number_reused_by_another_user_keeps_their_rows(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").init()
    now = datetime.now(UTC)
    with ws.connect() as con:
        for event_id, user in (("e1", "u_aaaaaaaaaaaaaaaaaaaa"), ("e2", "u_bbbbbbbbbbbbbbbbbbbb")):
            # two sources reused order number 1001 for two different customers
            con.execute(
                "INSERT INTO events (event_id, user_id, item_id, event_type, ts, order_id, "
                "ingestion_id) VALUES (?, ?, 'i1', 'purchase', ?, '1001', 'ing')",
                [event_id, user, now],
            )
        con.execute(
            "INSERT INTO users (user_id, ingestion_id) VALUES ('u_aaaaaaaaaaaaaaaaaaaa', 'ing')"
        )
    forget(ws, "u_aaaaaaaaaaaaaaaaaaaa", TEST_KEY)
    with ws.connect(read_only=True) as con:
        left = con.execute("SELECT event_id, user_id FROM events").fetchall()
    assert left == [("e2", "u_bbbbbbbbbbbbbbbbbbbb")]


def test_the_id_to_store_for_a_typed_id(tmp_path: Path) -> None:
    """A raw id typed by an agent resolves to the stored pseudonym; a stored pseudonym stays;
    a new person gets the id the workspace's loads would give them (pseudonym, or as typed
    where ids are kept as loaded); no key in a pseudonymised workspace is refused."""
    from shopmind.store.erasure import stored_id_for

    ws = Workspace(tmp_path / "ws")
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,event_type,ts\nalice,i1,view,2025-01-01T10:00:00Z\n")
    ingest_file(ws, path, options())
    alice = pseudonymize("alice", TEST_KEY)
    with ws.connect(read_only=True) as con:
        assert stored_id_for(con, "alice", TEST_KEY) == alice
        assert stored_id_for(con, alice, TEST_KEY) == alice
        assert stored_id_for(con, "bob", TEST_KEY) == pseudonymize("bob", TEST_KEY)
        with pytest.raises(PrivacyRequestError, match="keeps pseudonyms"):
            stored_id_for(con, "bob", None)  # never the raw id
    plain = Workspace(tmp_path / "plain")  # ids kept as loaded: a new person keeps theirs
    ingest_file(plain, path, options(pseudonymize=False))
    with plain.connect(read_only=True) as con:
        assert stored_id_for(con, "alice", TEST_KEY) == "alice"
        assert stored_id_for(con, "bob", TEST_KEY) == "bob"


COMPACT_EVENTS = (
    "user_id,session_id,item_id,event_type,ts,order_id,price,quantity\n"
    "alice77,sess-alice-QQQQ-1234,i1,view,2024-01-01T10:00:00Z,,,\n"
    "alice77,sess-alice-QQQQ-1234,i1,purchase,2024-01-01T10:05:00Z,o-alice-ORDER-9,5.0,1\n"
    "bob88,sess-bob-RRRR-5678,i2,view,2024-01-20T10:00:00Z,,,\n"
    "bob88,sess-bob-RRRR-5678,i2,purchase,2024-01-20T10:09:00Z,o-bob-ORDER-7,7.5,2\n"
)


@pytest.mark.parametrize("compact", [False, True])
def test_compact_takes_erased_bytes_off_the_disk(tmp_path: Path, compact: bool) -> None:
    """Without compaction the erased person's session and order ids stay in the database
    file's freed blocks (a byte scan finds them); ``compact`` rewrites the file without them
    and leaves the other rows and the audit chain as they were."""
    path = tmp_path / "events.csv"
    path.write_text(COMPACT_EVENTS)
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    ws.db_path.chmod(0o600)
    result = forget(ws, "alice77", TEST_KEY, compact=compact)
    assert ws.db_path.stat().st_mode & 0o777 == 0o600  # the copy keeps who may read it
    raw = ws.db_path.read_bytes()
    for value in (b"sess-alice-QQQQ", b"o-alice-ORDER"):
        assert (value in raw) is not compact, value
    assert b"sess-bob-RRRR" in raw and b"o-bob-ORDER" in raw
    if compact:
        sizes = result.detail["compacted"]
        assert sizes["bytes_after"] < sizes["bytes_before"]
    with ws.connect(read_only=True) as con:
        assert verify(con).ok
        assert con.execute("SELECT count(*) FROM events").fetchone() == (2,)
        actions = [r[0] for r in con.execute("SELECT action FROM audit_log").fetchall()]
    assert actions[-1] == ("compact" if compact else "forget")


def test_a_failed_compaction_leaves_the_erasure_done(tmp_path: Path) -> None:
    """The erasure commits first; a rewrite that then fails (here its target path is taken)
    is reported in the result, not raised: the command must not look failed."""
    path = tmp_path / "events.csv"
    path.write_text(COMPACT_EVENTS)
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    blocker = ws.root / "shopmind.duckdb.compacting"
    blocker.mkdir()
    (blocker / "keep").write_text("a directory in the way")
    result = forget(ws, "alice77", TEST_KEY, compact=True)
    assert result.rows["events"] == 2 and "error" in result.detail["compacted"]
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (2,)
        last = con.execute(
            "SELECT action, target, outcome FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    # the trail shows the rewrite that did not happen
    assert last is not None and last[:2] == ("compact", "after a request")
    assert str(last[2]).startswith("error")
