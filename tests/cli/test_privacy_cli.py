"""``shopmind forget / export-user / retention / audience`` through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shopmind.config import DEV_PSEUDONYMIZE_KEY
from shopmind.privacy import pseudonymize
from tests.conftest import run_cli

# each CLI call starts a Python process (~2-5 s here): these run with the slow tests; the
# same behaviour is covered fast, in-process, by tests/store/test_erasure.py and test_vault.py
pytestmark = pytest.mark.slow

DEV = DEV_PSEUDONYMIZE_KEY.encode()
USERS = (
    "user_id,email,phone,country\n"
    "alice77,alice.cli@example.com,+44 7700 900123,GB\n"
    "bob88,bob.cli@example.org,13812345678,CN\n"
)
EVENTS = (
    "user_id,item_id,event_type,ts,order_id,price,quantity\n"
    "alice77,i1,view,2024-01-01T10:00:00Z,,,\n"
    "alice77,i1,purchase,2024-01-01T10:05:00Z,o1,5.0,1\n"
    "bob88,i2,view,2024-01-20T10:00:00Z,,,\n"
    "bob88,i2,purchase,2024-01-20T10:09:00Z,o2,7.5,2\n"
)


def _cli(ws: Path, *args: str) -> object:
    return run_cli("--workspace", str(ws), *args)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (tmp_path / "users.csv").write_text(USERS)
    (tmp_path / "events.csv").write_text(EVENTS)
    for name, table in (("users.csv", "users"), ("events.csv", "events")):
        result = _cli(
            ws, "ingest", str(tmp_path / name), "--format", "generic", "--table", table, "--json"
        )
        assert result.returncode == 0, result.stderr
    model = ws / "models" / "propensity" / "model.pkl"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(b"a model saved after the loads")
    return ws


def test_forget_by_raw_id_then_unknown(ws: Path) -> None:
    dry = _cli(ws, "forget", "alice77", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = dry.json()
    assert planned["dry_run"] and planned["rows"]["events"] == 2 and planned["rows"]["vault"] == 3

    done = _cli(ws, "forget", "alice77", "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["rows"] == planned["rows"]
    assert "alice77" not in done.stdout

    again = _cli(ws, "forget", "alice77")
    assert again.returncode == 2
    assert "No user 'alice77'" in again.stderr and "Traceback" not in again.stderr

    info = _cli(ws, "info", "--json").json()
    assert [m["path"] for m in info["stale_models"]] == ["models/propensity/model.pkl"]
    alice = pseudonymize("alice77", DEV)
    rows = _cli(ws, "sql", f"SELECT count(*) AS n FROM events WHERE user_id = '{alice}'", "--json")
    assert rows.json() == [{"n": 0}]
    log = _cli(ws, "sql", "SELECT * FROM privacy_requests", "--json").json()
    assert [r["kind"] for r in log] == ["forget"]
    assert "alice77" not in json.dumps(log) and alice not in json.dumps(log)
    # the failed repeat is audited without naming the erased person again
    audit = _cli(ws, "sql", "SELECT action, target, outcome FROM audit_log", "--json").json()
    assert any(a["action"] == "forget" and a["outcome"].startswith("error") for a in audit)
    # the dry run read the person's rows: audited too, by its dry_run flag alone
    assert {"action": "forget", "target": "dry_run=True", "outcome": "ok"} in audit
    assert "alice77" not in json.dumps(audit) and alice not in json.dumps(audit)


def test_forget_plain_id_of_unpseudonymised_load(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (tmp_path / "events.csv").write_text(EVENTS)
    result = _cli(
        ws,
        "ingest",
        str(tmp_path / "events.csv"),
        "--format",
        "generic",
        "--pseudonymize",
        "off",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    done = _cli(ws, "forget", "bob88", "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["rows"]["events"] == 2
    left = _cli(ws, "sql", "SELECT DISTINCT user_id FROM events", "--json").json()
    assert left == [{"user_id": "alice77"}]


def test_export_user_writes_rows_and_vault_fields(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "alice.json"
    result = _cli(ws, "export-user", "alice77", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["vault"] == {
        "user_id": "alice77",
        "email": "alice.cli@example.com",
        "phone": "+44 7700 900123",
    }
    purchase = next(e for e in doc["tables"]["events"] if e["event_type"] == "purchase")
    assert purchase["price"] == 5.0 and purchase["ts"].startswith("2024-01-01T10:05")
    assert doc["tables"]["users"][0]["attributes"]["email_hash"].startswith("h_")
    assert "bob88" not in out.read_text()


def test_retention_drops_old_events_and_keeps_aggregates(ws: Path) -> None:
    dry = _cli(
        ws, "retention", "--older-than-days", "10", "--as-of", "2024-01-25T12:00:00", "--dry-run"
    )
    assert dry.returncode == 0 and "would drop 2 rows" in dry.stdout
    result = _cli(
        ws, "retention", "--older-than-days", "10", "--as-of", "2024-01-25T12:00:00", "--json"
    )
    assert result.returncode == 0, result.stderr
    body = result.json()
    assert body["rows"] == {"events": 2} and body["detail"]["cutoff"].startswith("2024-01-15")
    daily = _cli(
        ws, "sql", "SELECT event_type, events, revenue FROM events_daily ORDER BY 1", "--json"
    ).json()
    assert daily == [
        {"event_type": "purchase", "events": 1, "revenue": 5.0},
        {"event_type": "view", "events": 1, "revenue": None},
    ]
    history = _cli(ws, "sql", "SELECT events, purchases, revenue FROM user_history", "--json")
    assert history.json() == [{"events": 2, "purchases": 1, "revenue": 5.0}]
    # the dry run is in the audit trail, and says it was one
    audit = _cli(ws, "audit", "show", "--json").json()["entries"]  # chains the journal
    dry_entries = [
        a for a in audit if a["action"] == "retention" and "dry_run" in (a["target"] or "")
    ]
    assert [a["target"] for a in dry_entries] == [
        "older_than_days=10 as_of=2024-01-25_12:00:00 dry_run=True"
    ]


def test_audience_export_reveal_is_audited(ws: Path, tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    alice, bob = pseudonymize("alice77", DEV), pseudonymize("bob88", DEV)
    scores.write_text(f"user_id,score\n{alice},0.9\n{bob},0.4\n")
    built = _cli(
        ws, "audience", "build", "a1", "--scores", str(scores), "--min-score", "0.5", "--json"
    )
    assert built.returncode == 0, built.stderr
    assert built.json()["members"] == 1

    plain, revealed = tmp_path / "plain.csv", tmp_path / "revealed.csv"
    assert _cli(ws, "audience", "export", "a1", "--out", str(plain)).returncode == 0
    assert list(csv.DictReader(plain.open())) == [{"rank": "1", "user_id": alice, "score": "0.9"}]
    result = _cli(ws, "audience", "export", "a1", "--out", str(revealed), "--reveal", "--json")
    assert result.returncode == 0, result.stderr
    (row,) = list(csv.DictReader(revealed.open()))
    assert (row["original_id"], row["email"]) == ("alice77", "alice.cli@example.com")

    audit = _cli(ws, "audit", "show", "--json").json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    reveals = [e for e in entries if e["action"] == "vault reveal"]
    assert len(reveals) == 1 and reveals[0]["target"].endswith("people=1")
    assert "alice77" not in json.dumps(entries)
