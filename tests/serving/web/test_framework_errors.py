"""Errors on console routes answer pages; the API keeps its JSON (the app in-process)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.security import create_key
from shopmind.serving.app import create_app
from shopmind.serving.service import ServeOptions, Service
from shopmind.serving.web.pages import explore
from shopmind.store import Workspace
from tests.serving.web.conftest import Console


@pytest.fixture
def app_client(console: Console, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(console.cli_ws, ws.root)
    with ws.connect() as con:
        key = create_key(con, "admin").key
    with TestClient(create_app(Service(ws, ServeOptions())), raise_server_exceptions=False) as c:
        yield c, key


def test_an_unexpected_error_is_a_page_and_the_api_stays_json(
    app_client: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, key = app_client
    login = client.get("/login").text
    token = re.search(r'name="login_token" value="([^"]+)"', login)
    assert token
    client.post("/login", data={"login_token": token.group(1), "key": key, "next": "/"})

    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(explore, "trends", broken)
    page = client.get("/explore/trends?metric=orders")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Something went wrong on the server; it was logged" in page.text
    assert "a bug" not in page.text and "Traceback" not in page.text
    api = client.get("/v1/analytics/trends", headers={"Authorization": "Bearer nope"})
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"
