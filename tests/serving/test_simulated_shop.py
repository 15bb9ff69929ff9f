"""The service on a simulated shop as `shopmind simulate` makes it (user ids stored as given,
the vault written with the key derived from the workspace's key): reveals and access exports
work as in the CLI, audit targets hold no raw id, analytics never group by an identifier nor
echo bad input, and SIGTERM stops cleanly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopmind.store import Workspace
from tests.conftest import run_cli
from tests.serving.helpers import ENV, ROLES, Server, assert_error_shape, make_keys, start_server

USER = "u0000003"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("simshop")
    ws = root / "ws"
    cli = ("--workspace", str(ws))
    made = run_cli(*cli, "simulate", "--users", "40", "--days", "10", "--seed", "1", env=ENV)
    assert made.returncode == 0, made.stderr
    scores = root / "scores.csv"
    scores.write_text(f"user_id,score\n{USER},0.9\nu0000000,0.8\n")
    built = run_cli(*cli, "audience", "build", "top", "--scores", str(scores), env=ENV)
    assert built.returncode == 0, built.stderr
    cli_reveal = run_cli(
        *cli, "audience", "export", "top", "--out", str(root / "a.csv"), "--reveal", env=ENV
    )
    assert cli_reveal.returncode == 0, cli_reveal.stderr  # the CLI holds the key
    keys = dict(zip(ROLES, make_keys(ws, *ROLES), strict=True))
    server = start_server(ws, "--rate-limit", "0", log=root / "serve.log")
    server.keys = keys
    yield server
    server.stop()


def test_reveal_and_export_work_as_in_the_cli(shop: Server) -> None:
    revealed = shop.request("POST", "/v1/audiences/top/reveal", "admin")
    assert revealed.status_code == 200, revealed.text
    assert {m["original_id"] for m in revealed.json()["members"]} == {USER, "u0000000"}
    exported = shop.request("POST", "/v1/privacy/export", "admin", json={"user_id": USER})
    assert exported.status_code == 200, exported.text
    vault = exported.json()["document"]["vault"]
    assert vault and "@" in vault["email"], vault


def test_audit_targets_hold_no_raw_user_id(shop: Server) -> None:
    shop.request("GET", f"/v1/users/{USER}/recommendations", "analyst")  # 503: no model
    action = "GET /v1/users/{user_id}/recommendations"
    for _ in range(100):  # the writer chains entries within about 0.2 s
        entries = shop.request("GET", "/v1/admin/audit?limit=1000", "admin").json()["entries"]
        mine = [e for e in entries if e["action"] == action]
        if mine:
            break
        time.sleep(0.1)
    assert mine, entries[:3]
    assert all(USER not in str(e["target"]) for e in entries)
    assert mine[0]["target"].startswith("user_id=u_")


@pytest.mark.parametrize("by", ["user_id", "session_id", "event_id", "order_id", "ts"])
def test_funnels_are_never_broken_down_by_an_identifier(shop: Server, by: str) -> None:
    path = f"/v1/analytics/funnel?steps=view,cart,purchase&by={by}"
    error = assert_error_shape(shop.request("GET", path, "marketer"), 422)
    assert "category, brand, country, gender, source" in error["message"]


def test_a_funnel_by_an_allowed_attribute_answers(shop: Server) -> None:
    path = "/v1/analytics/funnel?steps=view,cart,purchase&by=country"
    answer = shop.request("GET", path, "marketer")
    assert answer.status_code == 200, answer.text
    assert answer.json()["by"] == "country"


@pytest.mark.parametrize(
    "query",
    [
        "steps=view';DROP TABLE events;--,purchase",
        "steps=view,purchase&window=1d';--",
        "steps=view,purchase&window=0d",
        "steps=view,purchase&by=x';DROP TABLE events;--",
    ],
)
def test_a_422_never_echoes_the_input(shop: Server, query: str) -> None:
    answer = shop.request("GET", f"/v1/analytics/funnel?{query}", "marketer")
    assert_error_shape(answer, 422)
    assert "DROP" not in answer.text and "';" not in answer.text and "0d" not in answer.text


def test_sigterm_stops_cleanly_after_writes(shop: Server, tmp_path: Path) -> None:
    body = {"conversation_id": "stop-1", "user_id": USER, "text": "where is my order?"}
    assert shop.request("POST", "/v1/assistant/messages", "service", json=body).status_code == 200
    assert shop.stop() == 0
    log = (shop.ws.parent / "serve.log").read_text()
    assert "Traceback" not in log and "shutdown failed" not in log, log[-2000:]
    with Workspace(shop.ws).connect(read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM messages WHERE conversation_id = 'stop-1'")
        assert rows.fetchone() == (2,)
