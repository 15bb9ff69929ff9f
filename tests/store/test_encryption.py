"""Encryption at rest: the database through DuckDB, other files through the file cipher."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopmind.errors import WorkspaceError
from shopmind.features.tables import duckdb_tables
from shopmind.store import Workspace, encryption
from shopmind.store.audit import fold, journal, journal_path, pending
from tests.conftest import run_cli

KEY = "correct horse battery staple"
SECRET = "zebra-secret-title-4711"


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPMIND_WORKSPACE_KEY", raising=False)
    monkeypatch.delenv("SHOPMIND_NEW_WORKSPACE_KEY", raising=False)


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _leaks(root: Path, needles: list[str]) -> list[tuple[str, str]]:
    return [
        (str(path.relative_to(root)), needle)
        for path, blob in _files(root).items()
        for needle in needles
        if needle.encode() in blob
    ]


def test_file_cipher_round_trip_wrong_key_and_tamper() -> None:
    cipher = encryption.new_cipher(KEY)
    sealed = cipher.seal(SECRET.encode())
    assert SECRET.encode() not in sealed and cipher.open(sealed) == SECRET.encode()
    with pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY"):
        encryption.FileCipher("another key", cipher.salt).open(sealed)
    flipped = bytearray(sealed)
    flipped[-5] ^= 1
    with pytest.raises(WorkspaceError, match="changed"):
        cipher.open(bytes(flipped))
    with pytest.raises(WorkspaceError, match="not a complete"):
        cipher.open(sealed[:20])
    line = cipher.seal_line("journal entry")
    assert "journal" not in line and cipher.open_line(line) == "journal entry"


def test_database_and_wal_hold_no_plaintext(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", key=KEY).init()
    assert encryption.is_encrypted(ws.root)
    with ws.connect() as con:
        con.execute(
            "INSERT INTO items (item_id, title, ingestion_id) VALUES ('i-zebra-1', ?, 't')",
            [SECRET],
        )
        # the insert sits in the write-ahead log until a checkpoint
        assert not _leaks(ws.root, [SECRET, "i-zebra-1"])
        con.execute("CHECKPOINT")
    assert not _leaks(ws.root, [SECRET, "i-zebra-1"])
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT title FROM shopmind.items").fetchall() == [(SECRET,)]


def test_refusals_name_the_variable(tmp_path: Path) -> None:
    Workspace(tmp_path / "ws", key=KEY).init()
    encryption.forget(tmp_path / "ws")
    for read_only in (True, False):
        with (
            pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY is not set"),
            Workspace(tmp_path / "ws").connect(read_only=read_only),
        ):
            pass
    with (
        pytest.raises(WorkspaceError, match="Wrong key: SHOPMIND_WORKSPACE_KEY"),
        Workspace(tmp_path / "ws", key="not the key").connect(read_only=True),
    ):
        pass
    plain = Workspace(tmp_path / "plain").init()
    with (
        pytest.raises(WorkspaceError, match="rotate-key") as refused,
        Workspace(plain.root, key=KEY).connect(read_only=True),
    ):
        pass
    assert "not encrypted" in str(refused.value)


def test_sandbox_ibis_and_nested_connections(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", key=KEY).init()
    with ws.connect() as con:
        con.execute(
            "INSERT INTO items (item_id, title, ingestion_id) "
            "VALUES ('a', 't1', 'x'), ('b', 't2', 'x')"
        )
    with ws.connect(read_only=True) as outer, ws.connect(read_only=True) as inner:
        assert outer.execute("SELECT count(*) FROM items").fetchone() == (2,)
        assert inner.execute("SELECT count(*) FROM shopmind.items").fetchone() == (2,)
    with ws.connect(sandboxed=True) as con:
        assert con.execute("SELECT count(*) FROM items").fetchone() == (2,)
        with pytest.raises(Exception, match=r"disabled|external|lock"):
            con.execute(f"COPY items TO '{tmp_path / 'out.csv'}'")
    with duckdb_tables(ws) as tables:
        assert int(tables["items"].count().execute()) == 2
    with ws.connect() as con:  # the last cursor closed the instance: writable again
        con.execute("DELETE FROM items WHERE item_id = 'b'")


def test_files_sealed_inside_an_encrypted_workspace_only(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", key=KEY).init()
    inside = encryption.write_file(ws.reports_dir / "x.html", SECRET.encode())
    outside = encryption.write_file(tmp_path / "export.html", SECRET.encode())
    assert SECRET.encode() not in inside.read_bytes()
    assert outside.read_bytes() == SECRET.encode()
    assert encryption.read_file(inside) == SECRET.encode()
    encryption.forget(ws.root)  # as in a process without the key
    with pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY is not set"):
        encryption.read_file(inside)
    with pytest.raises(WorkspaceError, match="SHOPMIND_WORKSPACE_KEY is not set"):
        encryption.write_file(ws.models_dir / "m.pkl", b"x")


def test_audit_journal_lines_are_sealed_and_folded(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", key=KEY).init()
    journal(ws, "audience show", target="u_zebra_pseudonym")
    assert b"zebra" not in journal_path(ws).read_bytes() and pending(ws) == 1
    with ws.connect() as con:
        assert fold(con, ws) == 1
        assert con.execute("SELECT target FROM audit_log").fetchall() == [("u_zebra_pseudonym",)]


@pytest.mark.slow
def test_pipeline_leaves_no_personal_data_in_any_file(tmp_path: Path) -> None:
    """ingest -> recommend train -> report -> audited read, all with the key: no title,
    e-mail, raw id or pseudonym in the bytes of any file under the workspace."""
    ws = tmp_path / "ws"
    env = {"SHOPMIND_WORKSPACE_KEY": KEY, "SHOPMIND_PROFILE": "dev"}
    titles = [f"Zebra{n} Porcelain Teapot" for n in range(6)]
    items = pd.DataFrame({"item_id": [f"sku{n}" for n in range(6)], "title": titles})
    users = pd.DataFrame(
        {
            "user_id": [f"cust{n:03d}" for n in range(8)],
            "email": [f"c{n}@zebramail.test" for n in range(8)],
        }
    )
    events = pd.DataFrame(
        [
            {
                "user_id": f"cust{u:03d}",
                "item_id": f"sku{(u + d) % 6}",
                "event_type": kind,
                "ts": f"2024-03-{1 + d:02d}T10:00:00Z",
            }
            for u in range(8)
            for d in range(5)
            for kind in ("view", "purchase")
        ]
    )
    for name, frame in (("items", items), ("users", users), ("events", events)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        got = run_cli(
            "--workspace",
            str(ws),
            "ingest",
            str(tmp_path / f"{name}.csv"),
            "--table",
            name,
            "--json",
            env=env,
        )
        assert got.returncode == 0, got.stderr
    for args in (
        ("recommend", "train", "--model", "popularity", "--json"),
        ("report", "--json"),
        ("sql", "SELECT count(*) FROM events", "--json"),
    ):
        got = run_cli("--workspace", str(ws), *args, env=env)
        assert got.returncode == 0, got.stderr
    assert (ws / "reports" / "report.html").exists()
    assert any((ws / "models").rglob("*.pkl"))
    with Workspace(ws, key=KEY).connect(read_only=True) as con:
        pseudonyms = [r[0] for r in con.execute("SELECT DISTINCT user_id FROM events").fetchall()]
    assert pseudonyms and all(p.startswith("u_") for p in pseudonyms)
    needles = [*titles, "zebramail", "cust003", "sku4", *pseudonyms, "Porcelain"]
    assert not _leaks(ws, needles)

    bare = run_cli("--workspace", str(ws), "info", env={"SHOPMIND_PROFILE": "dev"})
    assert bare.returncode != 0 and "SHOPMIND_WORKSPACE_KEY" in bare.stderr
    assert "Traceback" not in bare.stderr + bare.stdout
    wrong = run_cli("--workspace", str(ws), "info", env={**env, "SHOPMIND_WORKSPACE_KEY": "nope"})
    assert wrong.returncode != 0 and "Wrong key" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_opened_gives_libraries_a_temporary_plain_copy(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", key=KEY).init()
    path = ws.models_dir / "clv" / "summary.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"customer_id": ["u_zebra"], "clv": [1.5]}).to_parquet(path)
    encryption.seal_file(path)
    assert b"u_zebra" not in path.read_bytes()
    with encryption.opened(path) as plain:
        assert plain != path and oct(plain.stat().st_mode & 0o777) == "0o600"
        assert pd.read_parquet(plain)["customer_id"].tolist() == ["u_zebra"]
    assert not plain.exists()
    outside = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(outside)
    encryption.seal_file(outside)  # outside any encrypted workspace: left as it is
    with encryption.opened(outside) as same:
        assert same == outside and pd.read_parquet(same)["a"].tolist() == [1]


def test_a_plain_pickle_in_an_encrypted_workspace_is_refused(tmp_path: Path) -> None:
    import pickle

    ws = Workspace(tmp_path / "ws", key=KEY).init()
    planted = ws.models_dir / "recommend" / "m" / "model.pkl"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(pickle.dumps({"planted": True}))  # written without the key
    with pytest.raises(WorkspaceError, match="not sealed"):
        encryption.read_file(planted)
    sealed = encryption.write_file(planted, pickle.dumps({"trained": True}))
    assert pickle.loads(encryption.read_file(sealed)) == {"trained": True}
