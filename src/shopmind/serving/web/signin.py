"""Sign-in and sign-out: an API key (``shopmind keys create --role ROLE``) is traded for a
session cookie (HttpOnly, SameSite=Strict, Secure over https). The sign-in form carries its
own CSRF token (a double-submit cookie, since there is no session yet). Every attempt is
audited; refused attempts count against the address's failed-key budget like the API's."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shopmind.security import allowed
from shopmind.serving.web.framework import (
    SESSION_COOKIE,
    Console,
    Ctx,
    base_context,
    console_of,
    html,
    language_of,
    page,
    remember_language,
)
from shopmind.store.audit import AuditEntry

router = APIRouter()
LOGIN_COOKIE = "shopmind_login"


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


def _login_page(
    request: Request, console: Console, *, status: int = 200, error: str | None = None
) -> Response:
    lang, remember = language_of(request, console.catalogues)
    token = secrets.token_urlsafe(24)
    values = base_context(request, console, lang)
    values.update(
        login_token=token,
        next=safe_next(request.query_params.get("next")),
        expired=request.query_params.get("expired") == "1",
        error=error,
        no_keys=not console.service.keys,
    )
    response = html(console, "login.html", values, status)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    if remember:
        remember_language(response, lang)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, console_of(request))


@router.post("/login")
async def login(request: Request) -> Response:
    console = console_of(request)
    service = console.service
    lang, _ = language_of(request, console.catalogues)

    def text(key: str) -> str:
        return console.catalogues.translate(lang, key)

    form = await request.form()
    token, key, nxt = form.get("login_token"), form.get("key"), form.get("next")
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if (
        not isinstance(token, str)
        or not cookie
        or not hmac.compare_digest(token.encode(), cookie.encode())
    ):
        return _login_page(request, console, status=400, error=text("login.error_form"))
    client = request.client.host if request.client else "-"
    if not isinstance(key, str) or not key.strip():
        return _login_page(request, console, status=400, error=text("login.error_empty"))
    stored, why = service.find_key(key.strip())
    refused = why or stored is None
    if not refused and stored is not None and not allowed("console", stored.role):
        why, refused = "service", True
    if refused or stored is None:
        who = f"refused:{stored.key_id}" if stored is not None else "anonymous"
        service.writer.audit(AuditEntry(who, None, "console sign-in", client, "401"))
        if service.failed_auth.take(f"ip:{client}") > 0:
            return _login_page(request, console, status=429, error=text("login.error_slow"))
        message = text("login.error_service" if why == "service" else "login.error_key")
        return _login_page(request, console, status=401, error=message)
    session_id, session = console.sessions.create(stored.key_id, stored.role, stored.name)
    service.writer.audit(
        AuditEntry(session.principal, session.role, "console sign-in", client, "ok")
    )
    response = RedirectResponse(safe_next(nxt if isinstance(nxt, str) else None), 303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(ctx: Annotated[Ctx, page("console")]) -> Response:
    ctx.console.sessions.drop(ctx.request.cookies.get(SESSION_COOKIE))
    ctx.audit("console sign-out")
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
