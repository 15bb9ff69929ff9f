"""The contract of `backup`, `restore` and `rotate-key` as outside checks use it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest

from shopmind.security import create_key
from shopmind.store import Workspace
from tests.conftest import CliResult, run_cli
from tests.serving.helpers import start_server

KEY = "cli test passphrase 0123456"


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPMIND_WORKSPACE_KEY", raising=False)
    monkeypatch.delenv("SHOPMIND_NEW_WORKSPACE_KEY", raising=False)


def _env(key: str | None = KEY, **more: str) -> dict[str, str]:
    env = {"SHOPMIND_PROFILE": "dev", **more}
    if key is not None:
        env["SHOPMIND_WORKSPACE_KEY"] = key
    return env


def _ingest(ws: Path, tmp: Path, env: dict[str, str]) -> None:
    events = tmp / "events.csv"
    pd.DataFrame(
        {
            "user_id": [f"c{n}" for n in range(6)],
            "item_id": ["Zebra Lamp", "mug", "mug", "pen", "Zebra Lamp", "pen"],
            "event_type": ["view", "purchase", "view", "view", "purchase", "view"],
            "ts": [f"2024-05-0{n + 1}T08:00:00Z" for n in range(6)],
        }
    ).to_csv(events, index=False)
    got = run_cli("--workspace", str(ws), "ingest", str(events), "--json", env=env)
    assert got.returncode == 0, got.stderr


QUERY = "SELECT user_id, item_id, event_type, ts FROM events ORDER BY ALL"


def _rows(ws: Path, env: dict[str, str]) -> list[dict[str, object]]:
    got = run_cli("--workspace", str(ws), "sql", QUERY, "--json", env=env)
    assert got.returncode == 0, got.stderr
    rows: list[dict[str, object]] = got.json()
    return rows


def _refused(result: CliResult, *words: str) -> None:
    assert result.returncode == 2
    assert all(w in result.stderr for w in words), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow  # a dozen CLI processes
def test_backup_restore_rotate_through_the_cli(tmp_path: Path) -> None:
    ws, ws2, out = tmp_path / "w", tmp_path / "w2", tmp_path / "shop.backup"
    _ingest(ws, tmp_path, _env())
    done = run_cli("--workspace", str(ws), "backup", "--out", str(out), "--json", env=_env())
    assert done.returncode == 0, done.stderr
    assert done.json()["encrypted"] is True and b"Zebra Lamp" not in out.read_bytes()
    back = run_cli("--workspace", str(ws2), "restore", str(out), "--json", env=_env())
    assert back.returncode == 0, back.stderr
    assert back.json()["tables"]["events"] == 6
    assert _rows(ws2, _env()) == _rows(ws, _env()) and len(_rows(ws, _env())) == 6

    _refused(run_cli("--workspace", str(ws2), "info", env=_env(None)), "SHOPMIND_WORKSPACE_KEY")
    _refused(
        run_cli("--workspace", str(tmp_path / "w3"), "restore", str(out), env=_env(None)),
        "SHOPMIND_WORKSPACE_KEY",
    )
    _refused(run_cli("--workspace", str(ws2), "restore", str(out), env=_env()), "not empty")
    blob = bytearray(out.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    bad = tmp_path / "bad.backup"
    bad.write_bytes(bytes(blob))
    _refused(
        run_cli("--workspace", str(tmp_path / "w4"), "restore", str(bad), env=_env()),
        "damaged",
        "checksum",
    )

    new = "a brand new passphrase 987"
    rotated = run_cli(
        "--workspace",
        str(ws2),
        "rotate-key",
        "--json",
        env=_env(SHOPMIND_NEW_WORKSPACE_KEY=new),
    )
    assert rotated.returncode == 0, rotated.stderr
    _refused(run_cli("--workspace", str(ws2), "info", env=_env()), "Wrong key")
    assert _rows(ws2, _env(new)) == _rows(ws, _env())


@pytest.mark.slow
def test_plain_workspace_unchanged_and_key_on_plain_refused(tmp_path: Path) -> None:
    ws = tmp_path / "w"
    _ingest(ws, tmp_path, _env(None))
    assert not (ws / "encryption.json").exists()
    out = tmp_path / "plain.backup"
    done = run_cli("--workspace", str(ws), "backup", "--out", str(out), "--json", env=_env(None))
    assert done.returncode == 0 and done.json()["encrypted"] is False
    _refused(run_cli("--workspace", str(ws), "info", env=_env()), "not encrypted", "rotate-key")
    back = run_cli("--workspace", str(tmp_path / "w2"), "restore", str(out), env=_env(None))
    assert back.returncode == 0, back.stderr
    assert _rows(tmp_path / "w2", _env(None)) == _rows(ws, _env(None))


@pytest.mark.slow
def test_backup_while_the_service_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shopmind serve` holds DuckDB's write lock; backup asks it (loopback + runfile token)."""
    ws = tmp_path / "w"
    _ingest(ws, tmp_path, _env())
    before = _rows(ws, _env())
    with Workspace(ws, key=KEY).connect() as con:
        admin = create_key(con, "admin").key
    monkeypatch.setenv("SHOPMIND_WORKSPACE_KEY", KEY)  # the server's environment
    server = start_server(ws)
    try:
        auth = {"Authorization": f"Bearer {admin}"}  # request threads read the encrypted file
        for path in ("/v1/admin/audit", "/v1/analytics/trends"):
            answer = httpx.get(f"{server.base}{path}", headers=auth, timeout=30)
            assert answer.status_code == 200, answer.text[:300]
        assert oct((ws / "serve.json").stat().st_mode & 0o777) == "0o600"
        forged = httpx.post(f"{server.base}/local/backup", headers={"X-Shopmind-Token": "x"})
        assert forged.status_code == 403
        out = tmp_path / "live.backup"
        done = run_cli("--workspace", str(ws), "backup", "--out", str(out), "--json", env=_env())
        assert done.returncode == 0, done.stderr
        assert done.json()["via_service"] is True and done.json()["encrypted"] is True
    finally:
        assert server.stop() == 0
    back = run_cli("--workspace", str(tmp_path / "w2"), "restore", str(out), env=_env())
    assert back.returncode == 0, back.stderr
    assert _rows(tmp_path / "w2", _env()) == before


def test_compact_keeps_an_encrypted_workspace_encrypted(tmp_path: Path) -> None:
    """``shopmind compact`` rewrites the database with the same key: the same rows read back
    with it, the file holds no plain item names, and without the key it is refused."""
    ws = tmp_path / "ws"
    _ingest(ws, tmp_path, _env())
    before = _rows(ws, _env())
    got = run_cli("--workspace", str(ws), "compact", "--json", env=_env())
    assert got.returncode == 0, got.stderr
    assert got.json()["bytes_after"] > 0 and got.json()["bytes_before"] > 0
    assert _rows(ws, _env()) == before
    assert b"Zebra Lamp" not in (ws / "shopmind.duckdb").read_bytes()
    _refused(run_cli("--workspace", str(ws), "compact", env=_env(None)), "SHOPMIND_WORKSPACE_KEY")


def test_plain_export_inside_an_encrypted_workspace_is_refused(tmp_path: Path) -> None:
    """``--out`` into the encrypted workspace's folder would leave plain customer rows beside
    the sealed files: refused before anything runs; outside the folder it is written."""
    ws = tmp_path / "ws"
    _ingest(ws, tmp_path, _env())
    inside = ws / "reports" / "rfm.csv"
    _refused(
        run_cli("--workspace", str(ws), "analyze", "rfm", "--out", str(inside), env=_env()),
        "inside the encrypted workspace",
        "--out ~/rfm.csv",
    )
    assert not inside.exists()
    # a file named like the help flag is still a path inside the workspace
    got = run_cli("--workspace", ".", "analyze", "rfm", "--out", "-h", env=_env(), cwd=ws)
    _refused(got, "inside the encrypted workspace")
    assert not (ws / "-h").exists()
    outside = tmp_path / "rfm.csv"
    got = run_cli("--workspace", str(ws), "analyze", "rfm", "--out", str(outside), env=_env())
    assert got.returncode == 0, got.stderr
    assert outside.read_text().startswith("user_id")
    # from another (plain) workspace into the encrypted one's folder: refused the same way
    plain = tmp_path / "plain"
    _ingest(plain, tmp_path, _env(None))
    into = ws / "from_plain.csv"
    _refused(
        run_cli("--workspace", str(plain), "analyze", "rfm", "--out", str(into), env=_env(None)),
        "inside the encrypted workspace",
    )
    assert not into.exists()
    # the report seals what it writes inside an encrypted workspace: allowed there
    report = ws / "reports" / "mine.html"
    got = run_cli("--workspace", str(ws), "report", "--out", str(report), env=_env())
    assert got.returncode == 0, got.stderr
    assert b"<html" not in report.read_bytes() and report.stat().st_size > 0
