"""Backup -> restore gives the same tables and files; damaged backups are refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from shopmind.errors import WorkspaceError
from shopmind.ingest import ingest_file
from shopmind.models.base import read_pickle, write_pickle
from shopmind.privacy.keys import create_workspace_key, read_workspace_key
from shopmind.store import Workspace, encryption
from shopmind.store.audit import journal, pending
from shopmind.store.backup import create_backup, read_backup, restore_backup
from shopmind.store.rotation import rotate
from tests.conftest import options

KEY = "backup test passphrase 0123"
TITLE = "Zebra Striped Teacup"


def tables(ws: Workspace) -> dict[str, pa.Table]:
    """Every table of the workspace, rows in a total order."""
    with ws.connect(read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        ]
        return {
            name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').to_arrow_table()
            for name in sorted(names)
        }


def assert_same_tables(a: Workspace, b: Workspace) -> None:
    left, right = tables(a), tables(b)
    assert list(left) == list(right)
    for name in left:
        assert left[name].equals(right[name]), name


def _small(root: Path, key: str | None, tmp: Path) -> Workspace:
    ws = Workspace(root, key=key).init()
    items = tmp / "items.csv"
    pd.DataFrame({"item_id": ["i1", "i2"], "title": [TITLE, "Plain mug"]}).to_csv(
        items, index=False
    )
    events = tmp / "events.csv"
    pd.DataFrame(
        {
            "user_id": ["alice", "bob", "alice"],
            "item_id": ["i1", "i2", "i2"],
            "event_type": ["view", "purchase", "view"],
            "ts": ["2024-03-01T10:00:00Z", "2024-03-02T10:00:00Z", "2024-03-03T10:00:00Z"],
        }
    ).to_csv(events, index=False)
    ingest_file(ws, items, options(table="items"))
    ingest_file(ws, events, options())
    write_pickle(ws.models_dir / "demo" / "model.pkl", {"format": 1, "title": TITLE})
    journal(ws, "profile", target="u_zebra")
    create_workspace_key(ws.root)
    return ws


def _files(ws: Workspace) -> dict[str, bytes]:
    skip = {"shopmind.duckdb", "encryption.json", "audit.journal"}
    return {
        p.relative_to(ws.root).as_posix(): encryption.read_file(p)
        for p in sorted(ws.root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_round_trip_gives_identical_tables_and_files(tmp_path: Path, key: str | None) -> None:
    ws = _small(tmp_path / "ws", key, tmp_path)
    out = tmp_path / "shop.backup"
    result = create_backup(ws, out)
    assert result["encrypted"] is (key is not None) and out.stat().st_mode & 0o777 == 0o600
    assert (TITLE.encode() in out.read_bytes()) is (key is None)
    target = tmp_path / "empty"
    target.mkdir()  # an empty directory is a valid target
    restored = restore_backup(out, Workspace(target, key=key))
    assert restored["tables"]["events"] == 3
    assert_same_tables(ws, Workspace(target, key=key))
    assert _files(ws) == _files(Workspace(target, key=key))
    assert read_workspace_key(target) == read_workspace_key(ws.root)
    assert pending(Workspace(target, key=key)) == 1
    model = read_pickle(target / "models" / "demo" / "model.pkl", 1, "demo", "train")
    assert model["title"] == TITLE
    assert encryption.is_encrypted(target) is (key is not None)


def test_plain_backup_restored_with_a_key_is_encrypted(tmp_path: Path) -> None:
    ws = _small(tmp_path / "ws", None, tmp_path)
    create_backup(ws, tmp_path / "b")
    target = Workspace(tmp_path / "enc", key=KEY)
    restore_backup(tmp_path / "b", target)
    assert_same_tables(ws, target)
    for path in target.root.rglob("*"):
        if path.is_file():
            assert TITLE.encode() not in path.read_bytes(), path
    encryption.forget(target.root)
    with pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY"):
        tables(Workspace(target.root))


def _flip(path: Path, at: int) -> None:
    blob = bytearray(path.read_bytes())
    blob[at] ^= 0x01
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_damaged_backups_are_refused(tmp_path: Path, key: str | None) -> None:
    ws = _small(tmp_path / "ws", key, tmp_path)
    good = tmp_path / "good"
    create_backup(ws, good)
    size = good.stat().st_size
    cases: dict[str, Any] = {
        "flipped": lambda p: _flip(p, size // 2),
        "flipped at the end": lambda p: _flip(p, size - 1),
        "truncated": lambda p: p.write_bytes(p.read_bytes()[: size - 100]),
    }
    for name, damage in cases.items():
        bad = tmp_path / name.replace(" ", "_")
        bad.write_bytes(good.read_bytes())
        damage(bad)
        with pytest.raises(WorkspaceError, match="damaged") as refused:
            restore_backup(bad, Workspace(tmp_path / f"to_{bad.name}", key=key))
        assert "nothing was restored" in str(refused.value)
        assert not (tmp_path / f"to_{bad.name}").exists()
    not_backup = tmp_path / "x.csv"
    not_backup.write_text("a,b\n")
    with pytest.raises(WorkspaceError, match="not a shopmind backup"):
        read_backup(not_backup, key)


def test_restore_refuses_a_non_empty_workspace_and_a_missing_key(tmp_path: Path) -> None:
    ws = _small(tmp_path / "ws", KEY, tmp_path)
    create_backup(ws, tmp_path / "b")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    with pytest.raises(WorkspaceError, match="not empty"):
        restore_backup(tmp_path / "b", Workspace(busy, key=KEY))
    assert (busy / "notes.txt").read_text() == "keep me"
    with pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY is not set"):
        restore_backup(tmp_path / "b", Workspace(tmp_path / "w2"))
    with pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY"):
        restore_backup(tmp_path / "b", Workspace(tmp_path / "w3", key="wrong key"))
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        create_backup(ws, ws.root / "inside.backup")


def test_rotate_key_re_encrypts_everything(tmp_path: Path) -> None:
    ws = _small(tmp_path / "ws", None, tmp_path)
    before = tables(ws)
    with pytest.raises(WorkspaceError, match="SHOPMIND_NEW_WORKSPACE_KEY"):
        rotate(ws, None)
    first = rotate(ws, KEY)  # a plain workspace turns encrypted
    assert first["was_encrypted"] is False and encryption.is_encrypted(ws.root)
    for path in ws.root.rglob("*"):
        if path.is_file():
            assert TITLE.encode() not in path.read_bytes(), path
    second = rotate(Workspace(ws.root, key=KEY), "an entirely new key")
    assert second["was_encrypted"] is True
    with pytest.raises(WorkspaceError, match="Wrong key"):
        tables(Workspace(ws.root, key=KEY))
    encryption.forget(ws.root)
    new = Workspace(ws.root, key="an entirely new key")
    after = tables(new)
    audit = after.pop("audit_log"), before.pop("audit_log")
    # the journal entry and one entry per rotation
    assert audit[0].num_rows == audit[1].num_rows + 3
    assert list(after) == list(before)
    assert all(after[name].equals(before[name]) for name in after)
    model = read_pickle(ws.models_dir / "demo" / "model.pkl", 1, "demo", "train")
    assert model["title"] == TITLE and pending(new) == 0
    assert not [p for p in ws.root.rglob("*.rotating")]
    assert oct(os.stat(ws.root / "keys").st_mode & 0o777) == "0o700"


@pytest.mark.slow
@pytest.mark.realdata
def test_online_retail_round_trip(retail_ws: Workspace, tmp_path: Path) -> None:
    """The Online Retail workspace (541,909 rows): plain backup -> encrypted restore ->
    encrypted backup -> plain-key restore, every table identical in a total order."""
    create_backup(retail_ws, tmp_path / "plain.backup")
    encrypted = Workspace(tmp_path / "enc", key=KEY)
    restore_backup(tmp_path / "plain.backup", encrypted)
    assert_same_tables(retail_ws, encrypted)
    create_backup(encrypted, tmp_path / "enc.backup")
    again = Workspace(tmp_path / "again", key=KEY)
    restore_backup(tmp_path / "enc.backup", again)
    assert_same_tables(retail_ws, again)
    with again.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 500_000  # type: ignore[index]


def test_a_wrong_key_neither_journals_nor_breaks_the_owners_backup(tmp_path: Path) -> None:
    """A command run with a mistyped key is refused and leaves no journal line (one sealed
    with that key was unreadable to the owner and made their next backup fail with "the
    file is damaged"); a line no key here opens is kept as it is, never a refused backup."""
    from tests.conftest import run_cli

    ws = _small(tmp_path / "ws", KEY, tmp_path)
    journal_file = ws.root / "audit.journal"
    before = journal_file.read_bytes()
    wrong = run_cli(
        "--workspace", str(ws.root), "sql", "select 1", "--json",
        env={"SHOPMIND_WORKSPACE_KEY": "mistyped", "SHOPMIND_PROFILE": "dev"},
    )  # fmt: skip
    assert wrong.returncode != 0 and "Wrong key" in wrong.stdout + wrong.stderr
    assert journal_file.read_bytes() == before
    # refused for another reason before the key was tried: still no line under that key
    refused = run_cli(
        "--workspace", str(ws.root), "sql", "delete from events", "--json",
        env={"SHOPMIND_WORKSPACE_KEY": "mistyped", "SHOPMIND_PROFILE": "dev"},
    )  # fmt: skip
    assert refused.returncode != 0
    assert journal_file.read_bytes() == before
    # a line sealed under another key (an older process, a torn rotation) stays readable-less
    foreign = encryption.new_cipher("another key").seal_line('{"action": "x"}')
    with journal_file.open("a", encoding="utf-8") as handle:
        handle.write(foreign + "\n")
        handle.write(foreign[: len(foreign) // 2 + 3] + "\n")  # a line cut short
    create_backup(ws, tmp_path / "b")
    restored = Workspace(tmp_path / "r", key=KEY)
    restore_backup(tmp_path / "b", restored)
    assert_same_tables(ws, restored)
