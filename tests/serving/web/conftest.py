"""A real ``shopmind serve`` over a small simulated shop, keys per role, signed-in HTTP
clients, and one headless Chromium for the session whose pages may reach 127.0.0.1 only.

* ``console``: the running server (``console.base``, ``console.keys[role]``,
  ``console.client(role)`` -> a signed-in ``httpx.Client``, ``console.cli_ws``: a copy of
  the workspace taken before the server started, for ``shopmind ... --json`` comparisons).
* ``browser_page``: ``browser_page(role)`` -> a Playwright page already signed in as ``role``
  (``role=None``: not signed in); every request to a non-loopback address is aborted and
  recorded, and the test fails at teardown if there was one.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import run_cli
from tests.serving.helpers import ENV, Server, make_keys, start_server

PEOPLE = ("admin", "analyst", "marketer", "agent", "risk_analyst")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class Console:
    server: Server
    cli_ws: Path
    keys: dict[str, str] = field(default_factory=dict)
    log: Path | None = None  # the server's stderr

    @property
    def base(self) -> str:
        return self.server.base

    def client(self, role: str | None = "admin") -> httpx.Client:
        """An HTTP client with the console's cookies, signed in as ``role`` (None: not)."""
        client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=60)
        if role is not None:
            response = sign_in(client, self.keys[role])
            assert response.status_code == 303, response.text[:500]
        return client

    def cli(self, *args: str) -> Any:
        """``shopmind --workspace <copy> ARGS --json`` -> the parsed answer."""
        result = run_cli("--workspace", str(self.cli_ws), *args, "--json", env=ENV)
        assert result.returncode == 0, result.stderr
        return result.json()


def form_token(html: str, name: str = "csrf") -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


def sign_in(client: httpx.Client, key: str, next_path: str = "/") -> httpx.Response:
    page = client.get("/login")
    token = form_token(page.text, "login_token")
    return client.post("/login", data={"login_token": token, "key": key, "next": next_path})


def audit_until(console: Console, action: str, wanted: str, timeout: float = 10) -> str:
    """The audit page once ``wanted`` shows (entries land within ~0.2 s, asynchronously)."""
    admin = console.client("admin")
    deadline = time.monotonic() + timeout
    while True:
        trail = admin.get(f"/admin/audit?action={action}").text
        if wanted in trail or time.monotonic() > deadline:
            assert wanted in trail, f"{wanted} not audited"
            return trail
        time.sleep(0.2)


def simulated(root: Path) -> Path:
    ws = root / "ws"
    result = run_cli(
        "--workspace", str(ws), "simulate", "--users", "300", "--days", "30", "--json", env=ENV
    )
    assert result.returncode == 0, result.stderr
    return ws


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("console")
    ws = simulated(root)
    keys = dict(zip(PEOPLE, make_keys(ws, *PEOPLE), strict=True))
    keys["service"] = make_keys(ws, "service")[0]
    cli_ws = root / "cli_ws"
    shutil.copytree(ws, cli_ws)
    log = root / "server.log"
    server = start_logged_server(ws, log)
    yield Console(server, cli_ws, keys, log)
    assert server.stop() == 0, log.read_text()[-3000:]


def start_logged_server(
    ws: Path, log: Path, *args: str, env: dict[str, str] | None = None
) -> Server:
    """``shopmind serve`` on a free loopback port, its stderr in ``log`` (read it on failure)."""
    return start_server(ws, *args, log=log, env=env)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser: Any, console: Console) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []
    outside: list[str] = []

    def block(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    def open_page(role: str | None = "admin", width: int = 1366, height: int = 900) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.route("**/*", block)
        if role is not None:
            page.goto(f"{console.base}/login")
            page.fill("#f-key", console.keys[role])
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_load_state()
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert outside == [], f"requests left the machine: {outside}"
