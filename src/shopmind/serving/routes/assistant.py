"""Customer-service assistant API (no authentication here: the secured service mounts this
router under ``/v1`` for the roles admin, agent and service).

* ``POST /assistant/messages`` ``{conversation_id, text, user_id?}`` -> reply, intent,
  confidence, handoff (a new conversation id needs ``user_id``);
* ``POST /assistant/conversations/{id}/agent-replies`` ``{agent, text, intent?, release?,
  close?}`` stores an agent's reply (training data when ``intent`` is given);
* ``GET /assistant/conversations/{id}`` the stored (redacted) conversation;
* ``GET /assistant/conversations?status=handoff`` the handoff queue.

Errors: empty or whitespace text and text over 10,000 characters 422, an unknown conversation
404, a conversation of another customer 403. Customer messages are posted by the shop's front
end (role service) or an admin, for any customer; an agent key answers with agent-replies
only, so it can neither speak as a customer nor open another customer's conversation (403).
The handlers are thin: everything happens in
:class:`shopmind.assistant.engine.Assistant`, which the app provides through :func:`install`
(or ``app.state.assistant``); otherwise one is built on first use from
``app.state.service`` (sharing the service's workspace connection) or
``app.state.assistant_workspace``. When the service pseudonymises user ids, ``user_id`` is
mapped to its stored pseudonym first.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shopmind.assistant.engine import Assistant
from shopmind.assistant.store import ForeignConversationError, UnknownConversationError
from shopmind.errors import ShopmindError
from shopmind.models.intent import MAX_TEXT_CHARS
from shopmind.store import Workspace

router = APIRouter(tags=["assistant"])
_build_lock = threading.Lock()

Id = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: Id
    text: Text
    user_id: Id | None = None


class MessageReply(BaseModel):
    conversation_id: str
    reply: str
    intent: str
    confidence: float
    handoff: bool
    language: str
    status: str
    action: str
    reason: str | None = None
    summary: str | None = None
    entities: dict[str, Any] = Field(default_factory=dict)
    faq: dict[str, Any] | None = None


class AgentReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: Id
    text: Text
    intent: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    release: bool = False
    close: bool = False


def install(
    app: FastAPI, workspace: Workspace | None = None, assistant: Assistant | None = None
) -> None:
    """Give ``app`` the assistant for this router (or the workspace to build it from)."""
    if assistant is not None:
        assistant.warm_up()
        app.state.assistant = assistant
    if workspace is not None:
        app.state.assistant_workspace = workspace


def _assistant(request: Request) -> Assistant:
    state = request.app.state
    assistant = getattr(state, "assistant", None)
    if assistant is not None:
        return assistant
    with _build_lock:
        assistant = getattr(state, "assistant", None)
        if assistant is None:
            service = getattr(state, "service", None)
            workspace = getattr(state, "assistant_workspace", None)
            try:
                if service is not None:
                    # its own cursor (encrypted workspaces too), closed when the service stops
                    assistant = Assistant(service.workspace, connection=service.new_cursor())
                elif workspace is not None:
                    assistant = Assistant(workspace)
            except ShopmindError as exc:
                raise HTTPException(503, f"The assistant cannot start: {exc}") from exc
            if assistant is None:
                raise HTTPException(
                    503, "The assistant API has no workspace (routes.assistant.install)."
                )
            state.assistant = assistant
    return assistant


def _stored_user(request: Request, user_id: str | None) -> str | None:
    """The customer's id as the workspace stores them (see ``Service.person_id``)."""
    service = getattr(request.app.state, "service", None)
    if user_id is None or service is None or not hasattr(service, "person_id"):
        return user_id
    return str(service.person_id(user_id))


def _http(exc: ShopmindError) -> HTTPException:
    if isinstance(exc, UnknownConversationError):
        return HTTPException(404, str(exc))
    if isinstance(exc, ForeignConversationError):
        return HTTPException(403, str(exc))
    return HTTPException(422, str(exc))


def _agent(request: Request) -> str | None:
    """The calling agent's identity (``key:<key id>``), or None for other roles."""
    principal = getattr(request.state, "principal", None)
    if principal is None or getattr(principal, "role", None) != "agent":
        return None
    return f"key:{principal.key_id}"


def _visible_to(agent: str, conv: dict[str, Any]) -> bool:
    """An agent sees conversations assigned to them, and unassigned ones handed over to a
    person (the queue they pick from); never another agent's conversations."""
    owner = conv.get("assigned_agent")
    return owner == agent or (owner is None and bool(conv.get("handoff")))


def _require_visible(assistant: Assistant, conversation_id: str, agent: str | None) -> None:
    if agent is None:
        return
    try:
        conv = assistant.conversation(conversation_id)
    except ShopmindError as exc:
        raise _http(exc) from exc
    if not _visible_to(agent, conv):
        raise HTTPException(
            403, "This conversation is not handed over to you: agents see only their own."
        )


@router.post("/assistant/messages", response_model=MessageReply)
def message(body: MessageRequest, request: Request) -> MessageReply:
    """One customer message: the reply, intent, confidence and handoff flag. Posted by the
    shop's front end (service key) or an admin; agent keys answer through agent-replies."""
    if _agent(request) is not None:
        raise HTTPException(
            403,
            "Agent keys cannot post customer messages (nor start or read a customer's "
            "conversation this way); answer with POST "
            "/v1/assistant/conversations/{id}/agent-replies.",
        )
    assistant = _assistant(request)
    try:
        reply = assistant.ask(body.conversation_id, body.text, _stored_user(request, body.user_id))
    except ShopmindError as exc:
        raise _http(exc) from exc
    return MessageReply(**reply.to_dict())


@router.post("/assistant/conversations/{conversation_id}/agent-replies")
def agent_reply(conversation_id: str, body: AgentReplyRequest, request: Request) -> dict[str, Any]:
    """Store an agent's reply (redacted); ``intent`` labels the customer's last message."""
    assistant = _assistant(request)
    agent = _agent(request)
    _require_visible(assistant, conversation_id, agent)
    try:
        return assistant.agent_reply(
            conversation_id, agent or body.agent, body.text, body.intent, body.release, body.close
        )
    except ShopmindError as exc:
        raise _http(exc) from exc


@router.get("/assistant/conversations/{conversation_id}")
def conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    """The conversation's state, handoff summary and messages as stored (redacted)."""
    assistant = _assistant(request)
    _require_visible(assistant, conversation_id, _agent(request))
    try:
        return assistant.conversation(conversation_id)
    except ShopmindError as exc:
        raise _http(exc) from exc


@router.get("/assistant/conversations")
def conversations(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(open|handoff|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """Conversations, newest first (``status=handoff``: the queue agents work on). An agent
    key lists only its own conversations and the unassigned handoff queue."""
    found = _assistant(request).list_conversations(status, limit)
    agent = _agent(request)
    return found if agent is None else [c for c in found if _visible_to(agent, c)]
