"""The CLI side of issue 10: the default profile makes a per-workspace key (warning once),
paths are literal unless --glob, extra columns are kept only when declared."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

ROWS = "user_id,item_id,event_type,ts,nickname\n{u},i1,view,2024-03-01T10:00:00Z,{n}\n"


def test_default_profile_key_glob_and_keep_attribute(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    env = {"SHOPMIND_PROFILE": "local"}
    (tmp_path / "x?.csv").write_text(ROWS.format(u="RAWUSERQ", n="NickQ"))
    (tmp_path / "xa.csv").write_text(
        ROWS.format(u="RAWUSERA", n="NickA") + "a2,i2,view,2024-03-01T10:00:00Z,B\n"
    )
    first = run_cli("-w", str(ws), "ingest", str(tmp_path / "x?.csv"), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert first.json()["rows_in"] == 1  # the literal file only, not xa.csv
    assert "created a new pseudonymisation key" in first.stderr and "Back it up" in first.stderr
    assert (ws / "keys" / "pseudonymize.key").stat().st_mode & 0o077 == 0
    both = run_cli(
        "-w",
        str(ws),
        "ingest",
        str(tmp_path / "x*.csv"),
        "--glob",
        "--keep-attribute",
        "nickname",
        "--table",
        "users",
        "--json",
        env=env,
    )
    assert both.returncode == 0, both.stderr
    assert "created a new" not in both.stderr  # the warning comes once
    public = run_cli(
        "-w",
        str(tmp_path / "public"),
        "ingest",
        str(tmp_path / "xa.csv"),
        "--pseudonymize",
        "off",
        env=env,
    )  # the key then only hashes personal columns, and the warning says so
    assert public.returncode == 0 and "ids stay as loaded" in public.stderr
    assert [r["rows_in"] for r in both.json()] == [1, 2]
    kept = run_cli(
        "-w",
        str(ws),
        "sql",
        "SELECT count(*) AS n FROM users WHERE (attributes->>'nickname') = 'NickA'",
        "--json",
        env=env,
    )
    assert kept.json() == [{"n": 1}]
    blob = (ws / "shopmind.duckdb").read_bytes()
    assert b"RAWUSERQ" not in blob and b"RAWUSERA" not in blob


def test_invalid_pii_policy_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(ROWS.format(u="u1", n="n"))
    result = run_cli(
        "-w", str(tmp_path / "ws"), "ingest", str(path), env={"SHOPMIND_PII_POLICY": "shred"}
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "SHOPMIND_PII_POLICY='shred'" in result.stderr
