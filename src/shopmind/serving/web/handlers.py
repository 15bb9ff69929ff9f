"""Errors on console paths answer with pages (the API keeps its JSON shape).

No session: a redirect to ``/login`` (or, at ``/`` of a workspace without events, the page
that says how to load data). A role that may not see a page: a 403 page, never a redirect
loop. Bad input that reaches a library function (a ``ShopmindError``): a 422 page with its
message and hint. Anything unexpected: a 500 page saying it was logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from shopmind.errors import ShopmindError
from shopmind.security import roles_for
from shopmind.serving.web.framework import (
    SESSION_COOKIE,
    Console,
    Forbidden,
    LoginRequired,
    base_context,
    html,
    language_of,
)

log = logging.getLogger("shopmind.serving.web")
Handler = Callable[[Request, Exception], Awaitable[Response]]


def error_page(
    request: Request, console: Console, status: int, message: str, hint: str | None = None
) -> Response:
    """The error page in the browser's language, with the header of a signed-in session."""
    lang, _ = language_of(request, console.catalogues)
    values = base_context(request, console, lang)
    session = console.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        from shopmind.security import allowed

        values.update(
            user=session,
            csrf=session.csrf,
            nav=[n for n in console.nav if allowed(n.permission, session.role)],
        )
    values.update(status=status, message=message, hint=hint)
    return html(console, "error.html", values, status)


def empty_page(request: Request, console: Console) -> Response:
    """What to do first in a workspace without events (no sign-in needed: it shows no data)."""
    lang, _ = language_of(request, console.catalogues)
    values = base_context(request, console, lang)
    values.update(no_keys=not console.service.keys)
    return html(console, "empty.html", values, 200)


def install(
    app: FastAPI, console: Console, not_pages: tuple[str, ...], pages: Sequence[Any]
) -> None:
    """Console routes (``pages``) and unknown paths outside ``not_pages`` get pages; other
    routes keep the handlers already installed (JSON)."""
    previous: dict[Any, Any] = dict(app.exception_handlers)
    ours = {id(route) for route in pages}

    def is_page(request: Request) -> bool:
        route = request.scope.get("route")
        if route is not None:
            return id(route) in ours
        return not request.url.path.startswith(not_pages)

    def t(request: Request, key: str, /, **values: object) -> str:
        lang, _ = language_of(request, console.catalogues)
        return console.catalogues.translate(lang, key, **values)

    def for_pages(kind: Any, on_page: Callable[[Request, Exception], Response]) -> None:
        fallback = previous.get(kind)

        async def handler(request: Request, exc: Exception) -> Response:
            if not is_page(request) and fallback is not None:
                response: Response = await fallback(request, exc)
                return response
            return on_page(request, exc)

        app.add_exception_handler(kind, handler)

    def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        if request.url.path == "/" and not console.has_events():
            return empty_page(request, console)
        query = {"next": exc.next_path, **({"expired": "1"} if exc.expired else {})}
        response = RedirectResponse("/login?" + urlencode(query), 303)
        if exc.expired:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        if exc.reason == "csrf":
            return error_page(request, console, 403, t(request, "error.csrf"))
        roles = ", ".join(sorted(roles_for(exc.permission)))
        return error_page(request, console, 403, t(request, "error.forbidden", roles=roles))

    def shopmind(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ShopmindError)
        hint = getattr(exc, "hint", None)
        message = str(exc)
        if hint and message.endswith(str(hint)):  # str() may already carry the hint
            message = message[: -len(str(hint))].strip()
        return error_page(request, console, 422, message, hint)

    def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first: dict[str, Any] = next(iter(exc.errors()), {})
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "?"
        return error_page(request, console, 422, t(request, "error.invalid", field=where))

    def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        key = "error.not_found" if exc.status_code == 404 else "error.http"
        return error_page(
            request, console, exc.status_code, t(request, key, status=exc.status_code)
        )

    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("console page failed", exc_info=exc)
        return error_page(request, console, 500, t(request, "error.unexpected"))

    app.add_exception_handler(LoginRequired, _always(login_required))
    app.add_exception_handler(Forbidden, _always(forbidden))
    for_pages(ShopmindError, shopmind)
    for_pages(RequestValidationError, validation)
    for_pages(StarletteHTTPException, http)
    for_pages(Exception, unexpected)


def _always(function: Callable[[Request, Exception], Response]) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        return function(request, exc)

    return handler
