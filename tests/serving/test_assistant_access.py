"""Object-level access of the assistant routes: customer messages come from the shop's front
end (service) or an admin, never from an agent key; request bodies forbid unknown fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving.helpers import Server, assert_error_shape

MESSAGES = "/v1/assistant/messages"


def _post(served: Server, role: str, body: dict[str, Any]) -> Any:
    return served.request("POST", MESSAGES, role, json=body)


def test_an_agent_cannot_post_customer_messages(served: Server) -> None:
    started = _post(served, "service", {"conversation_id": "acc-1", "user_id": "u3", "text": "hi"})
    assert started.status_code == 200, started.text
    before = served.request("GET", "/v1/assistant/conversations/acc-1", "admin").json()
    # into an existing conversation, and opening one as any customer: both refused
    for body in (
        {"conversation_id": "acc-1", "text": "what are my orders?"},
        {"conversation_id": "acc-new", "user_id": "u4", "text": "what are my orders?"},
    ):
        error = assert_error_shape(_post(served, "agent", body), 403)
        assert "agent-replies" in error["message"]
    after = served.request("GET", "/v1/assistant/conversations/acc-1", "admin").json()
    assert after["messages"] == before["messages"]  # nothing added as the customer
    unknown = served.request("GET", "/v1/assistant/conversations/acc-new", "admin")
    assert_error_shape(unknown, 404)  # not opened


def test_an_agent_cannot_post_into_another_agents_conversation(served: Server) -> None:
    assert _post(served, "admin", {"conversation_id": "acc-2", "user_id": "u5", "text": "x"})
    taken = served.request(
        "POST",
        "/v1/assistant/conversations/acc-2/agent-replies",
        "admin",
        json={"agent": "someone-else", "text": "I am on it"},
    )
    assert taken.status_code == 200, taken.text
    body = {"conversation_id": "acc-2", "text": "human please"}
    error = assert_error_shape(_post(served, "agent", body), 403)
    assert "summary" not in error["message"].lower()
    reply = {"agent": "me", "text": "hello"}
    refused = served.request(
        "POST", "/v1/assistant/conversations/acc-2/agent-replies", "agent", json=reply
    )
    assert_error_shape(refused, 403)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (MESSAGES, {"conversation_id": "acc-3", "user_id": "u6", "text": "hi", "extra": 1}),
        ("/v1/assistant/conversations/acc-3/agent-replies", {"agent": "a", "text": "t", "x": 1}),
        ("/v1/privacy/export", {"user_id": "u1", "<script>x": 1}),
        ("/v1/privacy/forget", {"user_id": "u1", "dry_run": True, "extra": 1}),
    ],
)
def test_unknown_body_fields_are_refused(served: Server, path: str, body: dict[str, Any]) -> None:
    response = served.request("POST", path, "admin", json=body)
    error = assert_error_shape(response, 422)
    assert error["details"][0]["type"] == "extra_forbidden"
    assert error["details"][0]["loc"][-1] == "<unknown field>"  # the name is never echoed
    assert "<script>" not in response.text


def test_every_request_schema_forbids_unknown_fields(served: Server) -> None:
    schema = served.request("GET", "/openapi.json", role=None).json()
    components = schema["components"]["schemas"]
    checked = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if not path.startswith("/v1") or content is None:
                continue
            name = content["schema"]["$ref"].rsplit("/", 1)[1]
            assert components[name].get("additionalProperties") is False, (method, path, name)
            checked.append(name)
    assert {"MessageRequest", "AgentReplyRequest", "UserRequest", "EventsRequest"} <= set(checked)
