"""Service inbox (``/inbox``, agents and admins): conversations the assistant handed over to a
person, with the handoff summary, the messages (stored redacted) and suggested replies;
reply, give back to the assistant, or close.

The same calls as the assistant API (``serving/routes/assistant.py``): the one shared
:class:`~shopmind.assistant.engine.Assistant` of the service, the same visibility rule (an
agent sees only conversations assigned to them and the unassigned handoff queue, under the
same identity ``key:<key id>``), and :meth:`Assistant.agent_reply`, which stores the reply
redacted. Suggestions: :func:`shopmind.assistant.suggest.suggested_replies`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import HTTPException as FastAPIHTTPException
from starlette.responses import RedirectResponse, Response

from shopmind.assistant.suggest import faq_ready, suggested_replies, warm_faq
from shopmind.errors import ShopmindError
from shopmind.serving.routes.assistant import _assistant, _visible_to
from shopmind.serving.web import forms
from shopmind.serving.web.framework import Ctx, NavItem, page, render

router = APIRouter()
NAV = [NavItem("/inbox", "nav.inbox", "assistant", order=60)]
VIEWS = ("handoff", "mine", "all")
MAX_REPLY_CHARS = 4000


def _agent(ctx: Ctx) -> str | None:
    """The identity an agent key acts under (as the API's), None for other roles."""
    return f"key:{ctx.session.key_id}" if ctx.role == "agent" else None


def _conversations(ctx: Ctx, assistant: Any, view: str) -> list[dict[str, Any]]:
    agent = _agent(ctx)
    status = "handoff" if view == "handoff" else None
    found = assistant.list_conversations(status, 200)
    if agent is not None:
        found = [c for c in found if _visible_to(agent, c)]
    if view == "mine":
        me = agent or ctx.session.name or ctx.session.principal
        found = [c for c in found if c.get("assigned_agent") == me]
    return found[:100]


@router.get("/inbox")
def inbox(ctx: Annotated[Ctx, page("assistant", personal=True)]) -> Response:
    errors: list[str] = []
    view = forms.choice(ctx, "view", VIEWS, "handoff", errors)
    chosen = forms.text(ctx, "c")
    conversation: dict[str, Any] | None = None
    suggestions: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    faq_loading = False
    try:
        assistant = _assistant(ctx.request)
        warm_faq(assistant, ctx.service.cursor)  # encoders load in the background, once
        faq_loading = not faq_ready(assistant)
        rows = _conversations(ctx, assistant, view)
        if chosen:
            conversation = _visible(ctx, assistant, chosen)
            suggestions = suggested_replies(
                assistant, conversation, faq=not faq_loading, con=ctx.cursor()
            )
    except (ShopmindError, FastAPIHTTPException) as exc:
        errors.append(str(getattr(exc, "detail", exc)))
        conversation = None
    return render(
        ctx,
        "inbox.html",
        errors=errors,
        view=view,
        views=[(v, ctx.t("inbox.view." + v)) for v in VIEWS],
        rows=rows,
        conversation=conversation,
        suggestions=suggestions,
        faq_loading=faq_loading,
        customers=ctx.allowed("customers.read"),
    )


def _visible(ctx: Ctx, assistant: Any, conversation_id: str) -> dict[str, Any]:
    """The conversation, or a ShopmindError when this agent may not see it (as the API)."""
    conversation: dict[str, Any] = assistant.conversation(conversation_id)
    agent = _agent(ctx)
    if agent is not None and not _visible_to(agent, conversation):
        raise ShopmindError(ctx.t("inbox.not_yours"), hint=ctx.t("inbox.not_yours_hint"))
    return conversation


@router.post("/inbox/reply")
def reply(ctx: Annotated[Ctx, page("assistant")]) -> Response:
    """Store an agent's reply (redacted); optionally give back to the assistant or close."""
    errors: list[str] = []
    conversation_id = forms.text(ctx, "c")
    text = ctx.form.get("text", "")[:MAX_REPLY_CHARS]
    then = forms.choice(ctx, "then", ("keep", "release", "close"), "keep", errors)
    intent = forms.text(ctx, "intent")[:200] or None
    if not text.strip():
        errors.append(ctx.t("inbox.empty_reply"))
    if not conversation_id:
        errors.append(ctx.t("inbox.no_conversation"))
    if not errors:
        try:
            assistant = _assistant(ctx.request)
            _visible(ctx, assistant, conversation_id)
            who = _agent(ctx) or ctx.session.name or ctx.session.principal
            result = assistant.agent_reply(
                conversation_id, who, text, intent, then == "release", then == "close"
            )
        except (ShopmindError, FastAPIHTTPException) as exc:
            errors.append(str(getattr(exc, "detail", exc)))
    if errors:
        ctx.audit("console inbox reply", f"conversation={conversation_id[:100]}", "refused")
        for message in errors:
            ctx.flash(message)
        return RedirectResponse(_back(conversation_id), 303)
    ctx.audit("console inbox reply", f"conversation={conversation_id[:100]}")
    ctx.flash(ctx.t("inbox.sent", status=ctx.t("inbox.status." + result["status"])))
    return RedirectResponse(_back(conversation_id), 303)


def _back(conversation_id: str) -> str:
    from urllib.parse import urlencode

    return "/inbox?" + urlencode({"c": conversation_id}) if conversation_id else "/inbox"
