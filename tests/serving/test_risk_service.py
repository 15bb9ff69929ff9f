"""Risk control inside the running service: a real ``shopmind serve`` on a small simulated
shop with a trained workspace risk model. The risk routes read through the service's own
connection (no second open of the workspace), see events posted to ``POST /v1/events`` in
their velocities at once, and write review decisions through the service's writer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopmind.risk.workspace import score_workspace, train_workspace
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, run_cli
from tests.serving.helpers import ENV, Server, assert_error_shape, make_keys, start_server

TS = "2025-03-01T12:00:00+00:00"
ORDER = {
    "order_id": "api-o1",
    "user_id": "rt-new-1",
    "amount": 120.0,
    "ts": TS,
    "links": {"device": "dev-rt", "ip": "ip-rt"},
    "items": [{"quantity": 2, "price": 60.0}],
}


@pytest.fixture(scope="module")
def risk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A trained shop with reviews queued, served with a key per role used here."""
    ws = Workspace(tmp_path_factory.mktemp("risk-serve") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=600, days=20, seed=5)), key=TEST_KEY)
    train_workspace(ws)
    _, queued = score_workspace(ws, queue=True)
    assert queued >= 2
    roles = ("admin", "risk_analyst", "agent", "service")
    keys = dict(zip(roles, make_keys(ws.root, *roles), strict=True))
    # a read-only command journals its audit entry; the service chains it when it starts
    listed = run_cli("--workspace", str(ws.root), "risk", "review", "list", "--json", env=ENV)
    assert listed.returncode == 0 and len(listed.json()) == min(queued, 50), listed.stderr
    server = start_server(ws.root)
    server.keys = keys
    yield server
    server.stop()


def test_score_answers_a_score_decision_and_reasons(risk_server: Server) -> None:
    response = risk_server.request("POST", "/v1/risk/score", "risk_analyst", json=ORDER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0 <= body["risk_score"] <= 100
    assert body["decision"] in ("allow", "review", "block")
    assert isinstance(body["reasons"], list) and body["reasons"]
    assert "features" not in body  # only with explain: true


def test_agent_is_forbidden(risk_server: Server) -> None:
    response = risk_server.request("POST", "/v1/risk/score", "agent", json=ORDER)
    assert assert_error_shape(response, 403)["code"] == "forbidden"


def test_missing_fields_are_422_in_the_error_shape(risk_server: Server) -> None:
    response = risk_server.request(
        "POST", "/v1/risk/score", "risk_analyst", json={"order_id": "x", "amount": 3}
    )
    error = assert_error_shape(response, 422)
    assert error["code"] == "invalid_request" and "user_id" in error["message"]
    naive = risk_server.request(
        "POST", "/v1/risk/score", "risk_analyst", json={**ORDER, "ts": "2025-03-01T12:00:00"}
    )
    assert_error_shape(naive, 422)


def _carts_1h(server: Server) -> float:
    order = {**ORDER, "order_id": "api-probe", "observe": False, "explain": True}
    response = server.request("POST", "/v1/risk/score", "risk_analyst", json=order)
    assert response.status_code == 200, response.text
    return float(response.json()["features"]["user_carts_1h"])


def test_events_posted_to_the_service_count_in_velocities(risk_server: Server) -> None:
    assert _carts_1h(risk_server) == 0
    events = [
        {
            "event_id": f"rt-cart-{i}",
            "user_id": "rt-new-1",
            "event_type": "cart",
            "item_id": "rt-item",
            "ts": f"2025-03-01T11:5{i}:00+00:00",
        }
        for i in range(3)
    ]
    posted = risk_server.request("POST", "/v1/events", "service", json={"events": events})
    assert posted.status_code == 200 and posted.json()["accepted"] == 3, posted.text
    # acknowledged means committed and handed to the scorer: no waiting needed
    assert _carts_1h(risk_server) == 3
    # a resent batch is a duplicate and does not count twice
    again = risk_server.request("POST", "/v1/events", "service", json={"events": events})
    assert again.json()["duplicates"] == 3
    assert _carts_1h(risk_server) == 3


def test_the_cli_names_the_service_while_it_runs(risk_server: Server) -> None:
    listed = run_cli("--workspace", str(risk_server.ws), "risk", "review", "list", env=ENV)
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert "The shopmind service (pid" in listed.stderr and "/v1/risk/reviews" in listed.stderr
    # the audit hook cannot write either: one warning line, the command's own error stands
    warnings = [w for w in listed.stderr.splitlines() if w.startswith("warning: audit")]
    assert len(warnings) == 1 and "holds the workspace" in warnings[0]


def test_review_decisions_through_the_api_write_labels(risk_server: Server) -> None:
    listed = risk_server.request("GET", "/v1/risk/reviews?status=open", "risk_analyst")
    assert listed.status_code == 200, listed.text
    first, second = listed.json()[:2]
    confirmed = risk_server.request(
        "POST",
        f"/v1/risk/reviews/{first['review_id']}/confirm",
        "risk_analyst",
        json={"by": "ana", "note": "ring"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["label"] == 1
    cleared = risk_server.request(
        "POST", f"/v1/risk/reviews/{second['review_id']}/clear", "risk_analyst", json={"by": "ana"}
    )
    assert cleared.status_code == 200 and cleared.json()["label"] == 0
    unknown = risk_server.request(
        "POST", "/v1/risk/reviews/rv_nope/confirm", "risk_analyst", json={"by": "ana"}
    )
    assert assert_error_shape(unknown, 404)["message"].startswith("No review")
    done = risk_server.request("GET", "/v1/risk/reviews?status=confirmed", "risk_analyst").json()
    assert [r["review_id"] for r in done] == [first["review_id"]]
    # the labels rows, read from the workspace once the service has stopped
    assert risk_server.stop() == 0
    with Workspace(Path(risk_server.ws)).connect(read_only=True) as con:
        labels = dict(
            con.execute(
                "SELECT subject_id, value FROM labels WHERE name = 'fraud' AND source = 'review'"
            ).fetchall()
        )
        actions = {
            row[0]
            for row in con.execute(
                "SELECT action FROM audit_log WHERE action LIKE 'risk review%'"
            ).fetchall()
        }
    assert labels == {first["entity_id"]: "1", second["entity_id"]: "0"}
    # the decisions made through the API, and the CLI's journaled read chained at start-up
    assert actions == {"risk review list", "risk review confirm", "risk review clear"}
