"""The outermost layer of every request: body size limit, security headers, audit.

Pure ASGI (no per-request task switching): a body over ``max_body_bytes`` is refused with
413 before the application reads it (by Content-Length, or by counting a chunked body);
answers get ``X-Content-Type-Options: nosniff`` and ``/v1`` answers ``Cache-Control:
no-store``; every ``/v1`` call is handed to the audit trail with the caller, the route, the
target ids and the status (routes that audit themselves set ``request.state.audited``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopmind.security.keys import key_id_of
from shopmind.serving.errors import error_body
from shopmind.store.audit import AuditEntry

Auditor = Callable[[AuditEntry], None]
Targeter = Callable[[str, dict[str, Any]], str | None]
#: A bearer token -> (principal, role) when it is a usable key, else None.
Identifier = Callable[[str], tuple[str, str | None] | None]


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        audit: Auditor,
        target: Targeter,
        identify: Identifier = lambda _: None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.audit = audit
        self.target = target
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        api = scope["path"].startswith("/v1")
        status = {"code": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                extra = [(b"x-content-type-options", b"nosniff")]
                if api:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._refuse(send_with_headers, length)
        elif length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            body = await self._read(receive)
            if body is None:
                await self._refuse(send_with_headers, None)
            else:
                await self.app(scope, _replay(body, receive), send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)
        if api:
            self._audit(scope, headers, status["code"])

    async def _read(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, send: Send, length: bytes | None) -> None:
        limit = self.max_body_bytes
        said = f" ({length.decode(errors='replace')[:20]} bytes)" if length else ""
        body = error_body(
            "body_too_large",
            f"The request body{said} is over the limit of {limit} bytes; send smaller batches.",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _audit(self, scope: Scope, headers: dict[bytes, bytes], code: int) -> None:
        state = scope.get("state") or {}
        if state.get("audited"):
            return
        principal = state.get("principal")
        if principal is not None:
            who, role = principal.id, principal.role
        else:
            # answered before the route's key check ran (a malformed body, an unknown path):
            # a usable key is still its holder's act, only a refused one is "refused"
            token = headers.get(b"authorization", b"").decode(errors="replace")
            token = token.removeprefix("Bearer ").strip()
            key_id = key_id_of(token) if token else None
            known = self.identify(token) if key_id else None
            who, role = known or ((f"refused:{key_id}" if key_id else "anonymous"), None)
        route = scope.get("route")
        path = getattr(route, "path", None) or scope["path"]
        if not path.startswith("/v1"):  # routes of included routers report their own path
            path = "/v1" + path
        target = self.target(path, scope.get("path_params") or {})
        self.audit(AuditEntry(who, role, f"{scope['method']} {path}", target, str(code)))


def _replay(body: bytes, then: Receive) -> Receive:
    """The body already read, then the connection's own messages (e.g. a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
