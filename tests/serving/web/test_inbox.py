"""Service inbox: suggested replies for a handed-over conversation (FAQ and past agent
replies, as stored: redacted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from shopmind.assistant.engine import Assistant, AssistantConfig
from shopmind.assistant.suggest import suggested_replies
from shopmind.store import Workspace
from tests.serving.web.conftest import Console, form_token
from tests.serving.web.pages_b import (
    ANSWERED,
    EMAIL,
    HANDOFF,
    HANDOFF_2,
    audit_actions,
    b_console,
    b_workspace,
    copy_of,
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return b_workspace(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    """The shared server of the page tests (overrides the conftest's for ``browser_page``)."""
    return b_console(tmp_path_factory.getbasetemp())


def _stored(console: Console, conversation: str) -> dict[str, Any]:
    response = httpx.get(
        f"{console.base}/v1/assistant/conversations/{conversation}",
        headers={"Authorization": f"Bearer {console.keys['admin']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_suggestions_come_from_past_replies_and_the_faq(ws: Path, tmp_path: Path) -> None:
    copy = copy_of(tmp_path, "inbox")
    config = AssistantConfig(faq_embeddings=False)
    with Assistant.open(Workspace(copy), config=config) as assistant:
        handoff = assistant.conversation(HANDOFF)
        assert handoff["status"] == "handoff" and EMAIL not in str(handoff)
        suggestions = suggested_replies(assistant, handoff)
        assert "Delivery takes 2-4 working days." in [s["text"] for s in suggestions]
        assistant.ask(HANDOFF, "How long does delivery take?")
        faq = suggested_replies(assistant, assistant.conversation(HANDOFF))
        assert faq[0]["source"] == "faq" and "2-5 days" in faq[0]["text"]
        answered = assistant.conversation(ANSWERED)
        assert answered["status"] == "closed"


def test_inbox_is_refused_to_other_roles(console: Console) -> None:
    for role in ("marketer", "analyst", "risk_analyst"):
        client = console.client(role)
        assert client.get("/inbox").status_code == 403, role
        assert client.get(f"/inbox?c={HANDOFF}").status_code == 403, role


def test_agent_answers_a_handoff_stored_redacted(console: Console) -> None:
    agent = console.client("agent")
    inbox = agent.get("/inbox")
    assert inbox.status_code == 200
    assert f'data-conversation="{HANDOFF}"' in inbox.text
    assert f'data-conversation="{ANSWERED}"' not in inbox.text  # closed, another agent's
    page = agent.get(f"/inbox?c={HANDOFF}")
    assert 'id="handoff-summary"' in page.text and EMAIL not in page.text
    assert "&lt;EMAIL&gt;" in page.text
    refused = agent.get(f"/inbox?c={ANSWERED}")
    assert "not handed over to you" in refused.text and 'id="reply-form"' not in refused.text
    token = form_token(page.text)
    empty = agent.post("/inbox/reply", data={"csrf": token, "c": HANDOFF, "text": "  "})
    assert empty.status_code == 303 and "Write a reply" in agent.get(empty.headers["location"]).text
    sent = agent.post(
        "/inbox/reply",
        data={
            "csrf": token,
            "c": HANDOFF,
            "text": "Sure, mail me at helper@example.org",
            "intent": "human_agent",
            "then": "keep",
        },
    )
    assert sent.status_code == 303
    stored = _stored(console, HANDOFF)
    last = stored["messages"][-1]
    assert last["role"] == "agent" and "helper@example.org" not in last["text"]
    assert "<EMAIL>" in last["text"] and stored["assigned_agent"].startswith("key:")
    assert audit_actions(console, "console inbox reply")


@pytest.mark.slow
def test_answer_a_handed_over_conversation_in_the_browser(
    browser_page: Any, console: Console
) -> None:
    page = browser_page("agent")
    page.goto(f"{console.base}/inbox")
    page.click(f"tr[data-conversation='{HANDOFF_2}'] a")
    page.wait_for_selector("#handoff-summary")
    page.fill("#f-text", "Hello, I am here to help. Your parcel left today.")
    page.select_option("#f-then", "close")
    page.click("#reply-form button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#conversation-status") == "closed"
    assert "Your parcel left today." in page.inner_text("#messages")
    assert _stored(console, HANDOFF_2)["status"] == "closed"
