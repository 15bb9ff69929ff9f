"""``/v1/dp`` on a real ``shopmind serve``: releases for ``dp.release`` only, the budget
enforced through the service's writer (409, nothing spent), the ledger readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.store.privacy_budget import set_budget
from tests.analytics.test_private import build_shop
from tests.serving.helpers import assert_error_shape, make_keys, start_server


@pytest.mark.slow
def test_dp_routes_release_refuse_and_list(tmp_path: Path) -> None:
    ws = build_shop(tmp_path, users=40)
    set_budget(ws, 1.0, principal="setup")
    keys = dict(
        zip(("analyst", "marketer"), make_keys(ws.root, "analyst", "marketer"), strict=True)
    )
    server = start_server(ws.root, "--rate-limit", "0")
    server.keys = keys
    try:
        denied = server.request("POST", "/v1/dp/funnel?epsilon=0.5", "marketer")
        assert "dp.release" in assert_error_shape(denied, 403)["message"]

        made = server.request(
            "POST", "/v1/dp/funnel?epsilon=0.6&steps=view,cart,purchase", "analyst"
        )
        assert made.status_code == 200, made.text
        body = made.json()
        assert [s["name"] for s in body["steps"]] == ["view", "cart", "purchase"]
        assert body["noise"]["furthest_step"]["scale"] == pytest.approx(1 / 0.6)

        refused = server.request("POST", "/v1/dp/segments?epsilon=0.5", "analyst")
        error = assert_error_shape(refused, 409)
        assert error["code"] == "budget_exceeded" and "0.4 left" in error["message"]

        state = server.request("GET", "/v1/dp/budget", "analyst").json()
        assert state["epsilon_spent"] == pytest.approx(0.6) and state["releases"] == 1
        assert state["ledger"][0]["kind"] == "funnel"
        assert state["ledger"][0]["principal"].startswith("key:")
    finally:
        server.stop()
