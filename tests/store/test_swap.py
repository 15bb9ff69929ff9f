"""Rewrites of the database (compact, rotate-key): through a symlink, with the old file's
owner and group, and no partial copy left by an error, SIGTERM or an earlier killed run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shopmind.ingest import ingest_file
from shopmind.store import Workspace, encryption
from shopmind.store.audit import verify
from shopmind.store.compaction import compact
from shopmind.store.requests import forget
from shopmind.store.rotation import rotate
from shopmind.store.swap import Terminated, terminate_as_error
from tests.conftest import TEST_KEY, options
from tests.store.test_erasure import COMPACT_EVENTS

NEW_KEY = "swap test passphrase 0123456789"


def _workspace(tmp_path: Path) -> Workspace:
    path = tmp_path / "events.csv"
    path.write_text(COMPACT_EVENTS)
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    return ws


def test_a_symlinked_database_is_rewritten_at_its_target(tmp_path: Path) -> None:
    """The erased ids must leave the file the link points at; the link stays a link."""
    ws = _workspace(tmp_path)
    elsewhere = tmp_path / "data" / "shopmind.duckdb"
    elsewhere.parent.mkdir()
    ws.db_path.rename(elsewhere)
    ws.db_path.symlink_to(elsewhere)
    result = forget(ws, "alice77", TEST_KEY, compact=True)
    assert "error" not in result.detail["compacted"], result.detail
    assert ws.db_path.is_symlink() and ws.db_path.resolve() == elsewhere
    raw = elsewhere.read_bytes()
    assert b"sess-alice-QQQQ" not in raw and b"sess-bob-RRRR" in raw
    assert not list(elsewhere.parent.glob("*.compacting*"))
    with ws.connect(read_only=True) as con:
        assert verify(con).ok
        assert con.execute("SELECT count(*) FROM events").fetchone() == (2,)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file another owner needs root")
def test_compact_and_rotate_keep_the_owner_and_group(tmp_path: Path) -> None:
    """Run by root on a workspace of another user: every file keeps its owner and group."""
    ws = _workspace(tmp_path)
    report = ws.root / "reports" / "report.html"  # a file rotate-key seals
    report.parent.mkdir(exist_ok=True)
    report.write_text("<html>sess-bob-RRRR</html>")
    for path in [ws.root, *ws.root.rglob("*")]:
        os.chown(path, 65534, 65534)  # nobody / nogroup
    ws.db_path.chmod(0o640)
    before = {p for p in ws.root.rglob("*") if p.is_file()}
    compact(ws)
    st = ws.db_path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o640)
    rotate(ws, NEW_KEY)  # re-seals the workspace's files too
    encryption.forget(ws.root)
    st = ws.db_path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o640)
    kept = [p for p in before if p.exists()]
    assert report in kept and b"sess-bob-RRRR" not in report.read_bytes()
    assert {(p.stat().st_uid, p.stat().st_gid) for p in kept} == {(65534, 65534)}


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
def test_a_user_who_cannot_keep_the_owner_is_refused_before_copying() -> None:
    """Run as ``nobody`` on root's workspace: refused with the owner named, nothing copied.
    (A folder ``nobody`` can reach: pytest's own temporary folders are root's alone.)"""
    folder = Path(tempfile.mkdtemp(prefix="shopmind-swap-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        ws = _workspace(folder)
        code = (
            "import os, sys, pathlib\n"
            "from shopmind.errors import WorkspaceError\n"
            "from shopmind.store.swap import check_access\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "try:\n    check_access(pathlib.Path(sys.argv[1]))\n"
            "except WorkspaceError as e:\n    print('refused:', e)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(ws.db_path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "refused:" in done.stdout and "another user (uid 0)" in done.stdout
        assert not list(ws.root.glob("*.compacting*"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_rotate_key_removes_a_plain_copy_a_killed_compact_left(tmp_path: Path) -> None:
    """A compact killed hard leaves ``shopmind.duckdb.compacting``; encrypting the workspace
    afterwards must not keep that plain copy beside the sealed files."""
    ws = _workspace(tmp_path)
    leftover = ws.root / "shopmind.duckdb.compacting"
    leftover.write_bytes(b"plain rows: sess-alice-QQQQ")
    rotate(ws, NEW_KEY)
    encryption.forget(ws.root)
    assert not leftover.exists()
    files = [p for p in ws.root.rglob("*") if p.is_file()]
    assert not [p for p in files if b"sess-alice-QQQQ" in p.read_bytes()]


def test_sigterm_during_a_rewrite_stops_it_as_terminated() -> None:
    """SIGTERM inside the block raises ``Terminated`` (the default action would end the
    process before the cleanup); an error a running DuckDB statement raises for the signal
    ("Query interrupted") comes out as ``Terminated`` too; the previous handler is back."""
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated, match="partial copy was removed"), terminate_as_error():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before os.kill returns
    with pytest.raises(Terminated) as caught, terminate_as_error():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except Terminated:  # as DuckDB does when the signal lands in a running statement
            raise RuntimeError("Query interrupted") from None
    assert isinstance(caught.value.__cause__, RuntimeError)
    with pytest.raises(RuntimeError), terminate_as_error():  # other errors pass unchanged
        raise RuntimeError("disk full")
    assert signal.getsignal(signal.SIGTERM) is before
    assert not issubclass(Terminated, Exception)  # `except Exception` cannot swallow it
