"""The recommendation API on a real uvicorn server bound to 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ingest_lines, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("serve")
    ws = root / "ws"
    lines = [f"u{i} a1 a2 a3 a4" for i in range(20)] + [f"v{i} b1 b2 b3" for i in range(10)]
    ingest_lines(ws, root / "seq.txt", lines, "sequences")
    env = {"SHOPMIND_PROFILE": "dev"}
    assert (
        run_cli(
            "--workspace", str(ws), "recommend", "train", "--model", "markov", "--quiet", env=env
        ).returncode
        == 0
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopmind", "--workspace", str(ws), "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_user_recommendations(server: str) -> None:
    body = httpx.get(f"{server}/v1/users/u1/recommendations", params={"k": 3}).json()
    assert body["fallback"] is None and body["model"] == "markov"
    assert len(body["items"]) == 3
    assert all({"item_id", "score"} <= set(item) for item in body["items"])
    assert not {i["item_id"] for i in body["items"]} & {"a1", "a2", "a3", "a4"}


def test_unknown_user_gets_popular_items_and_is_told(server: str) -> None:
    body = httpx.get(f"{server}/v1/users/stranger/recommendations?k=2").json()
    assert "unknown user" in body["fallback"]
    assert next(i["item_id"] for i in body["items"]) in {"a1", "a2", "a3", "a4"}


def test_session_and_similar(server: str) -> None:
    body = httpx.post(
        f"{server}/v1/sessions/recommendations", json={"items": ["a1", "a2", "ghost"], "k": 2}
    ).json()
    assert body["items"][0]["item_id"] == "a3"
    assert body["ignored_items"] == ["ghost"]
    similar = httpx.get(f"{server}/v1/items/b2/similar?k=2").json()
    assert similar["items"][0]["item_id"] in {"b1", "b3"}


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("GET", "/v1/users/u1/recommendations?k=0", None, 422),
        ("GET", "/v1/users/u1/recommendations?k=abc", None, 422),
        ("GET", "/v1/items/ghost/similar", None, 404),
        ("POST", "/v1/sessions/recommendations", {"items": []}, 422),
        ("POST", "/v1/sessions/recommendations", {"items": ["ghost"]}, 422),
        ("POST", "/v1/sessions/recommendations", {"items": ["a1"], "k": -1}, 422),
        ("GET", "/v1/users/u1/recommendations?category=shoes", None, 422),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(
    server: str, method: str, path: str, payload: dict | None, status: int
) -> None:
    response = httpx.request(method, f"{server}{path}", json=payload)
    assert response.status_code == status
    assert response.json()["detail"]


def test_openapi_lists_the_endpoints(server: str) -> None:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    assert {
        "/v1/users/{user_id}/recommendations",
        "/v1/items/{item_id}/similar",
        "/v1/sessions/recommendations",
        "/health",
    } <= set(paths)


def test_serve_without_a_model_fails_clearly(tmp_path: Path) -> None:
    result = run_cli("--workspace", str(tmp_path / "none"), "serve", "--port", "1")
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_precomputed_answers_equal_computed_ones(server: str) -> None:
    cached = httpx.get(f"{server}/v1/users/v1/recommendations?k=4").json()["items"]
    # exclude_purchased forces the online path; every seen item here is a purchase anyway
    computed = httpx.get(f"{server}/v1/users/v1/recommendations?k=4&exclude_purchased=true").json()[
        "items"
    ]
    assert [i["item_id"] for i in cached] == [i["item_id"] for i in computed]
    assert [i["score"] for i in cached] == pytest.approx([i["score"] for i in computed])
