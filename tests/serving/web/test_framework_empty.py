"""``shopmind serve`` on a fresh folder (an empty workspace) starts and ``/`` says how to load data;
the idle timeout setting reaches the console's sessions."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from shopmind.store import Workspace
from tests.serving.helpers import make_keys
from tests.serving.web.conftest import sign_in, start_logged_server

pytestmark = pytest.mark.slow  # starts its own server (about 10 s on a busy machine)


def test_empty_workspace_and_idle_timeout(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")  # not created yet: `serve` starts on a fresh folder too
    assert not ws.root.exists()
    # 6 s: the page right after signing in must come within it, even on a busy machine
    idle = {"SHOPMIND_CONSOLE_IDLE_MINUTES": "0.1"}
    server = start_logged_server(ws.root, tmp_path / "server.log", env=idle)
    try:
        page = httpx.get(f"{server.base}/", timeout=30)
        assert page.status_code == 200, page.text[:300]
        text = page.text
        assert "No data yet" in text
        assert "shopmind ingest FILE --format NAME" in text and "shopmind simulate" in text
        assert "shopmind keys create --role admin" in text  # no key exists yet either
        chinese = httpx.get(f"{server.base}/?lang=zh", timeout=30)
        assert "还没有数据" in chinese.text
        # other pages still need a session
        assert httpx.get(f"{server.base}/explore", timeout=30).status_code == 303
    finally:
        assert server.stop() == 0
    key = make_keys(ws.root, "admin")[0]
    server = start_logged_server(ws.root, tmp_path / "server2.log", env=idle)
    try:
        client = httpx.Client(base_url=server.base, timeout=30)
        assert sign_in(client, key, "/admin").status_code == 303
        assert client.get("/admin").status_code == 200
        time.sleep(6.5)
        expired = client.get("/admin")
        assert expired.status_code == 303 and "expired=1" in expired.headers["location"]
        login = client.get(expired.headers["location"]).text
        assert "ended after a period without activity" in login
    finally:
        assert server.stop() == 0
