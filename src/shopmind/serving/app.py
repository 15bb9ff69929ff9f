"""The one FastAPI application: every capability under ``/v1`` behind API keys.

``create_app(service)`` mounts the route modules (recommendations, events, analytics, admin
and, when their modules are installed, risk and the assistant), each behind one permission
of :data:`shopmind.security.PERMISSIONS`; ``/health`` and the offline ``/docs`` are open.
Every error answers ``{"error": {"code", "message", "details"?}}`` (see ``errors.py``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from shopmind.security import roles_for
from shopmind.serving import errors
from shopmind.serving.auth import check_routes, require, route_permissions
from shopmind.serving.errors import ERROR_RESPONSES
from shopmind.serving.events import Landed
from shopmind.serving.middleware import Guard
from shopmind.serving.schemas import Health
from shopmind.serving.service import Service

log = logging.getLogger("shopmind.serving")

#: Route modules written elsewhere, mounted when importable: module -> permission of the
#: whole router, or None when each route declares its own (``Depends(require(...))``).
OPTIONAL_ROUTERS: dict[str, str | None] = {
    "shopmind.serving.routes.risk": "risk",
    "shopmind.serving.routes.assistant": "assistant",
    "shopmind.serving.routes.audience": None,
    "shopmind.serving.routes.privacy": None,
    "shopmind.serving.routes.dp": None,
    "shopmind.serving.routes.backup": None,
}

DESCRIPTION = """Every `/v1` route needs `Authorization: Bearer <key>` (create one with
`shopmind keys create --role ROLE`); the role decides which routes answer (403 otherwise).
Errors always read `{"error": {"code": ..., "message": ..., "details": [...]}}`. Request
bodies are limited in size (413), keys in request rate (429 with Retry-After)."""


def _optional_module(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # the module exists but something it needs does not: a real error
        return None


def _target(service: Service) -> Any:
    def target(path: str, params: dict[str, Any]) -> str | None:
        parts = []
        for name, value in params.items():
            text = str(value)
            if name == "user_id":
                text = service.audit_user_id(text)  # no raw customer id in the audit trail
            parts.append(f"{name}={text[:120]}")
        return " ".join(parts) or None

    return target


def _identify(service: Service) -> Any:
    def identify(token: str) -> tuple[str, str | None] | None:
        key, problem = service.find_key(token)
        return (f"key:{key.key_id}", key.role) if key is not None and not problem else None

    return identify


def _document_permissions(app: FastAPI) -> None:
    """Each ``/v1`` operation in the OpenAPI schema names its permission and roles."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for (method, path), permission in route_permissions(app).items():
                operation = schema["paths"][path][method.lower()]
                operation["x-permission"] = permission
                operation["x-roles"] = sorted(roles_for(permission))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def feed_risk(state: Any, landed: Landed) -> None:
    """Committed cart and refund events count in the risk scorer's velocities at once
    (when the risk routes have built a scorer)."""
    scorer = getattr(state, "risk_scorer", None)
    if scorer is None:
        return
    for user_id, event_type, ts in landed.user_events:
        scorer.record_event(user_id, event_type, ts.timestamp())


def create_app(service: Service) -> FastAPI:
    from shopmind.serving.routes import admin, analytics, events, recommend

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPIOffline(
        title="shopmind",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        favicon_url=None,
    )
    app.state.service = service
    service.writer.listeners.append(partial(feed_risk, app.state))
    errors.install(app)

    @app.get("/health", response_model=Health, tags=["health"])
    async def health() -> Health:
        rec = service.recommending
        if rec is None:
            return Health(status="ok", model=None, items=0, users=0)
        model = rec.model
        return Health(
            status="ok", model=model.name, items=model.n_items_, users=len(model.key_index_)
        )

    for module in (recommend, events, analytics, admin):
        app.include_router(module.router, prefix="/v1")
    for name, permission in OPTIONAL_ROUTERS.items():
        module = _optional_module(name)
        if module is not None:
            if hasattr(module, "install"):  # hands the module the workspace it serves
                module.install(app, service.workspace)
            app.include_router(
                module.router,
                prefix="/v1",
                dependencies=[require(permission)] if permission else [],
                responses=ERROR_RESPONSES,
            )
    check_routes(app)
    console = _optional_module("shopmind.serving.web")
    if console is not None:  # the web console (pages outside /v1, signed in by cookie)
        console.install(app, service)
    _document_permissions(app)
    if service.options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(service.options.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        Guard,
        max_body_bytes=service.options.max_body_bytes,
        audit=service.writer.audit,
        target=_target(service),
        identify=_identify(service),
    )
    return app
