"""With pseudonymisation on, no raw user id, e-mail or phone number from the input appears
anywhere in the DuckDB file: the test scans the file's bytes."""

from __future__ import annotations

from pathlib import Path

from shopmind.ingest import ingest_file
from shopmind.privacy import pseudonymize
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, options, query, scalar

RAW_IDS = [f"CUSTOMER-ZEBRA-{i:05d}" for i in range(40)]
EMAILS = [f"zebra.person{i}@private-mail.test" for i in range(40)]
PHONES = [f"+44 7700 9{i:05d}" for i in range(40)]


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    events = folder / "events.csv"
    lines = ["user_id,item_id,event_type,ts,query,contact"]
    for i, uid in enumerate(RAW_IDS):
        lines.append(
            f"{uid},item{i},view,2024-05-01T10:{i:02d}:00Z,"
            f"mail {EMAILS[i]} call {PHONES[i]},{EMAILS[i]}"
        )
    lines.append(f"{RAW_IDS[0]},item1,teleport,2024-05-01T10:00:00Z,q,{EMAILS[0]}")  # quarantined
    lines.append(f"{RAW_IDS[1]},item1,view")  # unreadable: too few fields
    events.write_text("\n".join(lines) + "\n")
    users = folder / "users.csv"
    rows = ["user_id,signup_ts,email,phone,full_name,country"]
    rows += [
        f"{uid},2024-01-01T00:00:00Z,{EMAILS[i]},{PHONES[i]},Zebra Person{i},GB"
        for i, uid in enumerate(RAW_IDS)
    ]
    rows.append(f"{RAW_IDS[2]},not-a-date,{EMAILS[2]},{PHONES[2]},Zebra Person2,GB")
    users.write_text("\n".join(rows) + "\n")
    return events, users


def test_no_raw_identifier_reaches_the_database_file(tmp_path: Path) -> None:
    events, users = _write_inputs(tmp_path)
    ws = Workspace(tmp_path / "ws")
    ev = ingest_file(ws, events, options())
    us = ingest_file(ws, users, options(table="users"))
    assert ev.rows_quarantined == 2 and us.rows_quarantined == 1
    assert ev.pii_columns and us.pii_columns
    # the data is there, under pseudonyms
    assert scalar(ws, "SELECT count(DISTINCT user_id) FROM events") == len(RAW_IDS)
    assert (
        scalar(
            ws, "SELECT count(*) FROM users WHERE user_id = ?", [pseudonymize(RAW_IDS[3], TEST_KEY)]
        )
        == 1
    )
    joined = scalar(ws, "SELECT count(*) FROM events e JOIN users u USING (user_id)")
    assert joined == len(RAW_IDS)
    assert query(ws, "SELECT count(*) FROM quarantine WHERE raw IS NOT NULL")[0][0] == 3
    with ws.connect() as con:
        con.execute("CHECKPOINT")
    blob = b"".join(p.read_bytes() for p in ws.root.glob("shopmind.duckdb*") if p.is_file())
    assert len(blob) > 10_000
    for secret in [*RAW_IDS, *EMAILS, *PHONES, "Zebra Person", "private-mail"]:
        assert secret.encode() not in blob, secret
        assert secret.lower().encode() not in blob, secret


def test_pseudonymize_off_keeps_public_ids(tmp_path: Path) -> None:
    events, _ = _write_inputs(tmp_path)
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, events, options(pseudonymize=False))
    assert scalar(ws, "SELECT count(*) FROM events WHERE user_id = ?", [RAW_IDS[5]]) == 1
    # free text is still scrubbed of contact details
    assert scalar(ws, "SELECT count(*) FROM events WHERE query LIKE '%@%'") == 0
