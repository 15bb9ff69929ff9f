"""Bounded property-based fuzzing of the API (hypothesis): whatever is sent, the answer is
never a 5xx, errors have the one documented shape, successes match their response schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from shopmind.serving.schemas import (
    AnalyticsResult,
    EventsResponse,
    SessionRecommendations,
    SimilarItems,
    UserRecommendations,
)
from tests.serving.helpers import Server, assert_error_shape

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ids = st.text(min_size=0, max_size=300) | st.sampled_from(["a1", "u1", "b2", "x-fuzz", ""])


def _check(response: httpx.Response, model: type[BaseModel]) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert_error_shape(response)
    else:
        model.model_validate_json(response.content)


@FUZZ
@given(user=ids, k=st.integers(-5, 2000) | st.text(max_size=5), category=st.none() | ids)
def test_user_recommendations(served: Server, user: str, k: Any, category: Any) -> None:
    params = {"k": k} | ({"category": category} if category is not None else {})
    path = f"/v1/users/{quote(user, safe='')}/recommendations"
    _check(served.request("GET", path, params=params), UserRecommendations)


@FUZZ
@given(item=ids, k=st.integers(-5, 2000))
def test_similar_items(served: Server, item: str, k: int) -> None:
    path = f"/v1/items/{quote(item, safe='')}/similar"
    _check(served.request("GET", path, params={"k": k}), SimilarItems)


session_bodies = json_values | st.fixed_dictionaries(
    {},
    optional={
        "session_id": ids | json_values,
        "items": st.lists(ids, max_size=20) | json_values,
        "k": st.integers(-5, 2000) | json_values,
    },
)


@FUZZ
@given(body=session_bodies)
def test_session_recommendations(served: Server, body: Any) -> None:
    _check(
        served.request("POST", "/v1/sessions/recommendations", json=body), SessionRecommendations
    )


event = st.fixed_dictionaries(
    {"event_id": ids},
    optional={
        "session_id": ids,
        "user_id": ids,
        "event_type": st.sampled_from(["view", "cart", "purchase", "search"])
        | st.text(max_size=10),
        "item_id": ids,
        "ts": st.sampled_from(["2025-01-01T00:00:00+00:00", "2025-01-01", "1700000000"])
        | st.text(max_size=30),
        "quantity": st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
        "price": st.floats(allow_nan=False, allow_infinity=False),
        "query": st.text(max_size=50),
    },
)


@FUZZ
@given(body=st.fixed_dictionaries({"events": st.lists(event, max_size=8)}) | json_values)
def test_events(served: Server, body: Any) -> None:
    _check(served.request("POST", "/v1/events", role="service", json=body), EventsResponse)


@settings(FUZZ, max_examples=15)
@given(
    steps=st.text(max_size=40) | st.sampled_from(["view,cart,purchase", "view,purchase"]),
    window=st.text(max_size=6) | st.sampled_from(["1d", "30m"]),
)
def test_funnel(served: Server, steps: str, window: str) -> None:
    params = {"steps": steps, "window": window}
    _check(served.request("GET", "/v1/analytics/funnel", params=params), AnalyticsResult)
