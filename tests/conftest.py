"""Shared fixtures: temporary workspaces, the real-data folder, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from shopmind.ingest import IngestOptions
from shopmind.store import Workspace

REPO = Path(__file__).resolve().parents[1]
# compiled PyTensor modules and other caches stay out of $HOME
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.cache' / 'pytensor'}")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
DATA = Path(os.environ.get("SHOPMIND_SHARED_DATA", REPO.parent / "shared" / "data"))
TEST_KEY = b"test-key-0123456789abcdef"
# property tests draw the same examples on every run: a failure reproduces, none is by chance
hypothesis_settings.register_profile("deterministic", derandomize=True)
hypothesis_settings.load_profile("deterministic")


def data_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test saying why."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (../shared/data is absent)")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOPMIND_PROFILE", "dev")
    monkeypatch.delenv("SHOPMIND_PSEUDONYMIZE_KEY", raising=False)
    monkeypatch.delenv("SHOPMIND_WORKSPACE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / ".cache" / "mpl"))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws").init()


def options(fmt: str = "generic", **kw: Any) -> IngestOptions:
    kw.setdefault("key", TEST_KEY)
    return IngestOptions(format=fmt, **kw)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
) -> CliResult:
    """Run the real ``shopmind`` command in a subprocess (in ``cwd`` when given)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "shopmind", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def ingest_lines(ws: Path, path: Path, lines: list[str], fmt: str) -> None:
    """Write ``lines`` to ``path`` and ingest them through the CLI, ids kept as they are."""
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(
        "--workspace",
        str(ws),
        "ingest",
        str(path),
        "--format",
        fmt,
        "--pseudonymize",
        "off",
        env={"SHOPMIND_PROFILE": "dev"},
    )
    assert result.returncode == 0, result.stderr


def query(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with ws.connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def scalar(ws: Workspace, sql: str, params: list[Any] | None = None) -> Any:
    return query(ws, sql, params)[0][0]


from tests.fixtures_workspaces import retail_ws, sim_ws, taobao_ws  # noqa: E402, F401
