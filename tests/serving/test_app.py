"""The recommendation API on a real uvicorn server bound to 127.0.0.1 (with an admin key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.serving.helpers import Server, assert_error_shape


def test_user_recommendations(served: Server) -> None:
    body = served.request("GET", "/v1/users/u1/recommendations", params={"k": 3}).json()
    assert body["fallback"] is None and body["model"] == "markov"
    assert len(body["items"]) == 3
    assert all({"item_id", "score"} <= set(item) for item in body["items"])
    assert not {i["item_id"] for i in body["items"]} & {"a1", "a2", "a3", "a4"}


def test_unknown_user_gets_popular_items_and_is_told(served: Server) -> None:
    body = served.request("GET", "/v1/users/stranger/recommendations?k=2").json()
    assert "unknown user" in body["fallback"]
    assert next(i["item_id"] for i in body["items"]) in {"a1", "a2", "a3", "a4"}


def test_session_and_similar(served: Server) -> None:
    body = served.request(
        "POST", "/v1/sessions/recommendations", json={"items": ["a1", "a2", "ghost"], "k": 2}
    ).json()
    assert body["items"][0]["item_id"] == "a3"
    assert body["ignored_items"] == ["ghost"] and body["ignored_count"] == 1
    similar = served.request("GET", "/v1/items/b2/similar?k=2").json()
    assert similar["items"][0]["item_id"] in {"b1", "b3"}


def test_session_can_leave_out_the_items_it_holds(served: Server) -> None:
    """By default a whole-catalogue answer keeps the session's own items (repeats are real
    next events); ``exclude_seen`` leaves exactly those out."""
    seen = {"a1", "a2"}
    whole = served.request(
        "POST", "/v1/sessions/recommendations", json={"items": sorted(seen), "k": 1000}
    ).json()["items"]
    assert seen <= {i["item_id"] for i in whole}
    fresh = served.request(
        "POST",
        "/v1/sessions/recommendations",
        json={"items": sorted(seen), "k": 1000, "exclude_seen": True},
    ).json()["items"]
    assert {i["item_id"] for i in fresh} == {i["item_id"] for i in whole} - seen


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("GET", "/v1/users/u1/recommendations?k=0", None, 422),
        ("GET", "/v1/users/u1/recommendations?k=abc", None, 422),
        ("GET", "/v1/items/ghost/similar", None, 404),
        ("POST", "/v1/sessions/recommendations", {"items": []}, 422),
        ("POST", "/v1/sessions/recommendations", {"items": ["ghost"]}, 422),
        ("POST", "/v1/sessions/recommendations", {"items": ["a1"], "k": -1}, 422),
        ("POST", "/v1/sessions/recommendations", {"session_id": "never-seen"}, 404),
        ("GET", "/v1/users/u1/recommendations?category=shoes", None, 422),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(
    served: Server, method: str, path: str, payload: dict | None, status: int
) -> None:
    assert_error_shape(served.request(method, path, json=payload), status)


def test_library_refusals_have_snake_case_codes(served: Server) -> None:
    """A refusal from the analytics library (an event type the data does not hold) answers
    in the API's own code style, and the message lists what the data holds; a step outside
    the vocabulary is refused before, naming its position, not its value."""
    error = assert_error_shape(served.request("GET", "/v1/analytics/funnel?steps=view,refund"), 422)
    assert error["code"] == "analytics_error" and "Event types present" in error["message"]
    error = assert_error_shape(
        served.request("GET", "/v1/analytics/funnel?steps=view,teleport"), 422
    )
    assert "teleport" not in error["message"] and "step 2" in error["message"]


def test_every_library_error_kind_has_a_snake_case_code() -> None:
    import re

    import shopmind.privacy.dp
    import shopmind.privacy.pii_tagger
    import shopmind.store.privacy_budget  # noqa: F401 - their error classes
    from shopmind.errors import AnalyticsError, NotFittedError, ShopmindError
    from shopmind.serving.errors import library_code

    def kinds(cls: type) -> list[type]:
        return [cls, *[k for sub in cls.__subclasses__() for k in kinds(sub)]]

    codes = {k.__name__: library_code(k.__new__(k)) for k in kinds(ShopmindError)}
    assert codes["DPError"] == "dp_error" and codes["PiiModelError"] == "pii_model_error"
    assert codes["BudgetExceededError"] == "budget_exceeded_error"
    assert library_code(NotFittedError("x")) == "no_model"
    assert library_code(AnalyticsError("x")) == "analytics_error"
    for name, code in codes.items():
        assert code == "no_model" or re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*_error", code), (
            name,
            code,
        )


def test_openapi_lists_the_endpoints(served: Server) -> None:
    paths = served.request("GET", "/openapi.json", role=None).json()["paths"]
    assert {
        "/v1/users/{user_id}/recommendations",
        "/v1/items/{item_id}/similar",
        "/v1/sessions/recommendations",
        "/v1/events",
        "/v1/analytics/funnel",
        "/v1/admin/keys",
        "/health",
    } <= set(paths)


def test_api_trends_offer_the_cli_metrics_and_say_revenue_is_net(served: Server) -> None:
    from typing import get_args

    from shopmind.analytics.trends import METRICS
    from shopmind.serving.routes.analytics import TrendMetric

    assert set(get_args(TrendMetric)) == set(METRICS)
    answer = served.request("GET", "/v1/analytics/trends?metric=aov&interval=month")
    assert answer.status_code == 200, answer.text
    assert answer.json()["measure"] == "aov" and "net revenue" in answer.json()["definition"]


def test_serve_on_a_busy_port_says_so_in_one_line(trained: Path, tmp_path: Path) -> None:
    import shutil
    import socket

    ws = tmp_path / "ws"
    shutil.copytree(trained, ws)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("--workspace", str(ws), "serve", "--port", str(port), timeout=60)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert (
        result.stderr.startswith("error: Cannot listen on 127.0.0.1:") and "--port" in result.stderr
    )
    assert "serving" not in result.stderr and not (ws / "serve.json").exists()


def test_serve_on_a_file_instead_of_a_workspace_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a workspace")
    result = run_cli("--workspace", str(tmp_path / "file"), "serve", "--port", "1")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "is a file, not a directory" in result.stderr


def test_precomputed_answers_equal_computed_ones(served: Server) -> None:
    cached = served.request("GET", "/v1/users/v1/recommendations?k=4").json()["items"]
    # exclude_purchased forces the online path; every seen item here is a purchase anyway
    computed = served.request(
        "GET", "/v1/users/v1/recommendations?k=4&exclude_purchased=true"
    ).json()["items"]
    assert [i["item_id"] for i in cached] == [i["item_id"] for i in computed]
    assert [i["score"] for i in cached] == pytest.approx([i["score"] for i in computed])


def test_api_event_types_are_the_canonical_ones() -> None:
    """The API's event-type vocabulary (a Literal, for the OpenAPI enum) is the one ingest
    writes: one list, checked here, since a Literal cannot be built from a tuple."""
    from shopmind.ingest.sqlparts import EVENT_TYPES
    from shopmind.serving import params

    assert params.EVENT_TYPES == EVENT_TYPES
