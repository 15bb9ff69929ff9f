"""The web console: server-rendered pages at ``/`` (outside ``/v1``), signed in by cookie.

``install(app, service)`` (called by ``serving/app.py``) mounts the static files
(``/static/console.css``, ``/static/console.js`` and ``/static/plotly.min.js`` from the
installed plotly package: nothing from a CDN), the sign-in routes, every page module of
``shopmind.serving.web.pages`` (each has a ``router`` and optionally ``NAV``) and the error
handlers that answer console paths with pages instead of JSON, then computes the pages'
default views in a background thread (modules with a ``warm(console)`` function). How to
add a page: ``FRAMEWORK.md`` next to this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response

from shopmind.serving.service import Service
from shopmind.serving.web import handlers, signin
from shopmind.serving.web.framework import Console, NavItem

STATIC = Path(__file__).parent / "static"
#: Paths that are not console pages (the API, its docs, health, static files).
NOT_PAGES = ("/v1", "/docs", "/redoc", "/openapi.json", "/health", "/static")
#: Console routes open without a session.
PUBLIC = {("GET", "/login"), ("POST", "/login")}


def plotly_js() -> Path:
    """``plotly.min.js`` shipped inside the installed plotly package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def page_modules() -> list[Any]:
    """Every module of ``shopmind.serving.web.pages`` (names starting with _ skipped)."""
    from shopmind.serving.web import pages

    found = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{pages.__name__}.{info.name}"))
    return found


def install(app: FastAPI, service: Service, *, warm: bool = True) -> None:
    console = Console(service)
    app.state.console = console
    script = plotly_js()

    def plotly() -> Response:
        return FileResponse(
            script, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )

    app.add_api_route("/static/plotly.min.js", plotly, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="console-static")
    before = len(app.router.routes)
    app.include_router(signin.router, include_in_schema=False)
    nav: list[NavItem] = []
    routers = [signin.router]
    modules = page_modules()
    for module in modules:
        app.include_router(module.router, include_in_schema=False)
        nav.extend(getattr(module, "NAV", ()))
        routers.append(module.router)
    console.nav = sorted(nav, key=lambda n: (n.order, n.path))
    # the copies mounted on the app and the routers' own routes (FastAPI hands either to
    # the exception handlers as scope["route"])
    pages = [*app.router.routes[before:], *(r for router in routers for r in router.routes)]
    handlers.install(app, console, NOT_PAGES, pages)
    check_pages(pages)
    if warm:
        console.warm([m for m in modules if hasattr(m, "warm")])


def _permissions(dependant: Any) -> set[str]:
    found = set()
    for dep in dependant.dependencies:
        permission = getattr(dep.call, "permission", None)
        if permission:
            found.add(permission)
        found |= _permissions(dep)
    return found


def page_permissions(routes: Sequence[Any]) -> dict[tuple[str, str], str]:
    """(method, path) -> permission of every console page route (for tests and docs)."""
    table = {}
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods or ():
                table[(method, route.path)] = ",".join(sorted(_permissions(route.dependant)))
    return table


def check_pages(routes: Sequence[Any]) -> None:
    """Deny by default: refuse a console route without exactly one ``page(...)`` permission."""
    for (method, path), permission in page_permissions(routes).items():
        if (method, path) in PUBLIC:
            continue
        if not permission or "," in permission:
            raise RuntimeError(f"console page {method} {path} must declare page(permission)")
