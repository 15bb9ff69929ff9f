"""Authentication and authorisation as FastAPI dependencies.

``require(permission)`` is the only way a route is opened: it checks the bearer key (401),
the role against :data:`shopmind.security.PERMISSIONS` (403), the key's rate limit (429 with
Retry-After) and the writer's backlog (503). :func:`check_routes` refuses to start a service
with a ``/v1`` route that declares no permission (deny by default).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.routing import iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopmind.security import PERMISSIONS, TokenBuckets, allowed, roles_for
from shopmind.serving.errors import ApiError
from shopmind.serving.service import Principal, Service
from shopmind.serving.writer import Busy

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `shopmind keys create --role ROLE` "
    "(header `Authorization: Bearer <key>`).",
)

_HINT = "send `Authorization: Bearer <key>` (create a key with `shopmind keys create --role ROLE`)"


def service_of(request: Request) -> Service:
    service = request.app.state.service
    assert isinstance(service, Service)
    return service


ServiceDep = Annotated[Service, Depends(service_of)]


def _unauthorised(service: Service, request: Request, message: str) -> ApiError:
    client = request.client.host if request.client else "-"
    wait = service.failed_auth.take(f"ip:{client}")
    if wait > 0:
        return ApiError(
            429,
            "Too many refused keys from this address; slow down.",
            headers={"Retry-After": str(TokenBuckets.retry_after(wait))},
        )
    return ApiError(401, f"{message} {_HINT}.", headers={"WWW-Authenticate": "Bearer"})


Dependency = Callable[..., Coroutine[Any, Any, Principal]]


def require(permission: str) -> Any:
    """The dependency that opens a route to the roles holding ``permission``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"permission {permission!r} is not in shopmind.security.PERMISSIONS")

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        service = service_of(request)
        state = request.state
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorised(service, request, "Missing API key:")
        stored, why = service.find_key(credentials.credentials)
        if stored is not None:
            state.principal = Principal(stored.key_id, stored.role, stored.name, stored.rate_limit)
        if why:
            raise _unauthorised(service, request, why)
        assert stored is not None
        principal = state.principal
        if not allowed(permission, principal.role):
            raise ApiError(
                403,
                f"Role '{principal.role}' may not use this route (permission '{permission}' "
                f"is for: {', '.join(sorted(roles_for(permission)))}).",
            )
        wait = service.limits.take(principal.key_id, rate=principal.rate_limit)
        if wait > 0:
            rate = principal.rate_limit or service.options.rate_limit
            raise ApiError(
                429,
                f"Rate limit of key {principal.key_id} exceeded ({rate:g} requests/s).",
                headers={"Retry-After": str(TokenBuckets.retry_after(wait))},
            )
        try:
            service.writer.check_capacity()
        except Busy as exc:
            raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return Security(check)


def principal_of(request: Request) -> Principal:
    """The caller, after ``require`` let the request in (for object-level checks)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise ApiError(401, f"Missing API key: {_HINT}.")
    assert isinstance(principal, Principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(principal_of)]


def _permissions(dependant: Any) -> set[str]:
    found = set()
    for dep in dependant.dependencies:
        permission = getattr(dep.call, "permission", None)
        if permission:
            found.add(permission)
        found |= _permissions(dep)
    return found


def route_permissions(app: FastAPI) -> dict[tuple[str, str], str]:
    """(method, path) -> permission for every ``/v1`` route (for tests and the docs)."""
    table: dict[tuple[str, str], str] = {}
    for route in iter_route_contexts(app.routes):  # routes of included routers, prefixed
        path = route.path or ""
        if path.startswith("/v1"):
            dependant = getattr(route, "dependant", None)
            found = _permissions(dependant) if dependant is not None else set()
            for method in route.methods or ():
                table[(method, path)] = ",".join(sorted(found))
    return table


def check_routes(app: FastAPI) -> None:
    """Refuse a ``/v1`` route without exactly one declared permission."""
    for (method, path), permission in route_permissions(app).items():
        if not permission or "," in permission:
            raise RuntimeError(
                f"{method} {path} must declare exactly one permission with require(...)"
            )
