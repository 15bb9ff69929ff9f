"""The console's page contract: who may see a page, what a page gets, how it answers.

A page is a FastAPI route whose context comes from ``page(permission)``::

    router = APIRouter()
    NAV = [NavItem("/explore", "nav.explore", "analytics.read", order=20)]

    @router.get("/explore", response_class=HTMLResponse)
    def explore(ctx: Annotated[Ctx, page("analytics.read")]) -> Response:
        return render(ctx, "explore.html", charts=[...], errors=[...])

``page`` lets a signed-in session through when its role holds ``permission`` in
:data:`shopmind.security.PERMISSIONS` (else a 403 page), sends a browser without a session to
``/login``, checks the CSRF token of every POST and hands the page its :class:`Ctx`.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import duckdb
import jinja2
from fastapi import Depends, Request
from starlette.responses import HTMLResponse, Response

from shopmind.security import PERMISSIONS, allowed
from shopmind.serving.service import Principal, Service
from shopmind.serving.web.charts import Chart, csv_response
from shopmind.serving.web.formats import register as register_filters
from shopmind.serving.web.i18n import Catalogues
from shopmind.serving.web.sessions import SessionStore, WebSession
from shopmind.store.audit import AuditEntry

TEMPLATES = Path(__file__).parent / "templates"
T = TypeVar("T")
#: Seconds a read of the data version is trusted (see ``Console.data_version``).
VERSION_TTL_S = 60.0
#: query parameters of personal-data pages left out of the audit entry: they may hold a raw
#: customer id, e-mail or phone typed into a search (the audit trail keeps pseudonyms only)
UNAUDITED = frozenset({"original", "q", "email", "phone"})
log = logging.getLogger("shopmind.serving.web")
SESSION_COOKIE = "shopmind_session"
LANG_COOKIE = "shopmind_lang"
#: Security headers of every console page (no framing, scripts only from this server).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    """A header link: shown to roles holding ``permission``, sorted by ``order``."""

    path: str
    label: str  # i18n key
    permission: str
    order: int = 50


class LoginRequired(Exception):
    """No live session: the browser is sent to ``/login`` (then back to ``next``)."""

    def __init__(self, next_path: str, expired: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class Forbidden(Exception):
    """The session's role may not see this page (or the CSRF token did not match)."""

    def __init__(self, permission: str, reason: str = "role") -> None:
        super().__init__(permission)
        self.permission = permission
        self.reason = reason


class Console:
    """What the console keeps for the life of the service (``app.state.console``)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.sessions = SessionStore(service.options.console_idle_minutes * 60)
        self.catalogues = Catalogues()
        self.nav: list[NavItem] = []
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        register_filters(self.env)
        self._memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._memo_lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self._stopping = False
        self._version: tuple[float, tuple[Any, ...]] | None = None
        self._warm_thread: threading.Thread | None = None
        self._warm_cursor: duckdb.DuckDBPyConnection | None = None
        service.on_close.append(self.stop)

    def has_events(self) -> bool:
        row = self.service.cursor().execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()
        return bool(row and row[0])

    def data_version(self) -> tuple[Any, ...]:
        """The cache key of the data: event count and last ingestion, read again at most every
        ``VERSION_TTL_S`` (so a stream of posted events does not recompute every page view;
        figures include events at most that many seconds old)."""
        now = time.monotonic()
        with self._memo_lock:
            if self._version is not None and now - self._version[0] < VERSION_TTL_S:
                return self._version[1]
        sql = "SELECT (SELECT count(*) FROM events), (SELECT max(finished_at) FROM ingestions)"
        version = tuple(self.service.cursor().execute(sql).fetchone() or ())
        with self._memo_lock:
            self._version = (now, version)
        return version

    def memo(self, key: tuple[Any, ...], compute: Callable[[], T], size: int = 128) -> T:
        """``compute()`` once per ``key`` and data version (the least recent of ``size`` go).
        Thread-safe: a second thread asking for a key being computed waits for that result."""
        full = (*key, self.data_version())
        with self._memo_lock:
            if full in self._memo:
                self._memo.move_to_end(full)
                return cast(T, self._memo[full])
            busy = self._computing.setdefault(full, threading.Lock())
        with busy:  # one computation per key at a time
            with self._memo_lock:
                if full in self._memo:
                    return cast(T, self._memo[full])
            try:
                value = compute()
                with self._memo_lock:
                    self._memo[full] = value
                    while len(self._memo) > size:
                        self._memo.popitem(last=False)
            finally:
                with self._memo_lock:
                    self._computing.pop(full, None)
        return value

    def analysis(self, function: Callable[..., T], *args: Hashable) -> T:
        """``function(tables, *args)`` on Ibis tables of the workspace, cached per data
        version (the CLI calls the same ``function``)."""

        def compute() -> T:
            if self._stopping and threading.current_thread() is self._warm_thread:
                raise RuntimeError("the service is stopping")
            with self.service.tables() as tables:
                return function(tables, *args)

        return self.memo((function.__module__, function.__qualname__, *args), compute)

    def warm(self, modules: Sequence[Any]) -> threading.Thread:
        """Compute the pages' default views in the background (each module's ``warm``), so
        the first visit finds them cached."""

        def run() -> None:
            self._warm_cursor = self.service.cursor()
            for module in modules:
                if self._stopping:
                    return
                try:
                    module.warm(self)
                except Exception:  # a view that cannot be computed is answered on its page
                    log.info("warm-up of %s skipped", module.__name__, exc_info=True)

        self._warm_thread = threading.Thread(target=run, name="console-warm-up", daemon=True)
        self._warm_thread.start()
        return self._warm_thread

    def stop(self) -> None:
        """Interrupt and wait for the warm-up (before the service closes its connection)."""
        self._stopping = True
        thread = self._warm_thread
        if thread is None or not thread.is_alive():
            return
        if self._warm_cursor is not None:
            self._warm_cursor.interrupt()  # the query running now ends with an error
        thread.join(timeout=60)


def console_of(request: Request) -> Console:
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


def language_of(request: Request, catalogues: Catalogues) -> tuple[str, bool]:
    """(language, whether it came from ``?lang=`` and should be remembered in a cookie)."""
    asked = request.query_params.get("lang")
    if asked:
        return catalogues.language(asked), True
    return catalogues.language(request.cookies.get(LANG_COOKIE)), False


@dataclass
class Ctx:
    """What a page handler gets: the request, the service, the session and helpers."""

    request: Request
    console: Console
    session: WebSession
    lang: str
    remember_lang: bool = False
    #: Fields of a POST form (CSRF already checked); empty for GET.
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def service(self) -> Service:
        return self.console.service

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def principal(self) -> Principal:
        return Principal(self.session.key_id, self.session.role, self.session.name)

    def t(self, key: str, /, **values: object) -> str:
        """Interface text in the page's language (see ``i18n.py``)."""
        return self.console.catalogues.translate(self.lang, key, **values)

    def tr(self, key: str, default: str) -> str:
        """``t(key)`` when the catalogue has it, else ``default`` (names from the library)."""
        return self.console.catalogues.translate_or(self.lang, key, default)

    def options(self, values: Sequence[str], prefix: str) -> list[tuple[str, str]]:
        """(value, translated label) pairs for a ``<select>``: label key = prefix + value."""
        return [(v, self.t(prefix + v)) for v in values]

    def allowed(self, permission: str) -> bool:
        return allowed(permission, self.session.role)

    def query(self, name: str, default: str = "") -> str:
        """A query parameter as text (stripped, <= 400 characters); ``default`` when absent."""
        value = self.request.query_params.get(name)
        return (default if value is None else value).strip()[:400]

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's read cursor on the workspace (use parameters, never string SQL)."""
        return self.service.cursor()

    @contextmanager
    def tables(self) -> Iterator[Any]:
        """Ibis tables (``shopmind.features.tables.Tables``) for the analytics functions."""
        with self.service.tables() as tables:
            yield tables

    def memo(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """Cache ``compute()`` until the data change (for slow analytics)."""
        return self.console.memo(key, compute)

    def analysis(self, function: Callable[..., T], *args: Hashable) -> T:
        """``function(tables, *args)``, cached until the data change (see Console.analysis)."""
        return self.console.analysis(function, *args)

    def audit(self, action: str, target: str | None = None, outcome: str = "ok") -> None:
        """One entry in the audit trail under the signed-in key (``console ...`` actions)."""
        entry = AuditEntry(self.session.principal, self.session.role, action, target, outcome)
        self.service.writer.audit(entry)

    def flash(self, message: str) -> None:
        """A message shown once on the next page rendered for this session."""
        self.session.flashes.append(message)


def page(permission: str, *, personal: bool = False) -> Any:
    """The dependency that opens a page to the roles holding ``permission``.

    ``personal=True`` marks a page showing personal data: every view is audited
    (``console view <path>``, target = the query string)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"permission {permission!r} is not in shopmind.security.PERMISSIONS")

    async def check(request: Request) -> Ctx:
        console = console_of(request)
        session = console.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None and not _key_active(console.service, session.key_id):
            console.sessions.drop(request.cookies.get(SESSION_COOKIE))
            session = None
        if session is None:
            expired = SESSION_COOKIE in request.cookies
            raise LoginRequired(_here(request), expired)
        lang, remember = language_of(request, console.catalogues)
        ctx = Ctx(request, console, session, lang, remember)
        if request.method == "POST":
            form = await request.form()
            token = form.get("csrf")
            if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), session.csrf.encode()
            ):
                ctx.audit(f"console {request.url.path}", None, "csrf")
                raise Forbidden(permission, "csrf")
            ctx.form = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        if not allowed(permission, session.role):
            raise Forbidden(permission)
        if personal:  # raw ids typed into a search never reach the audit trail
            kept = [(k, v) for k, v in request.query_params.multi_items() if k not in UNAUDITED]
            ctx.audit(f"console view {request.url.path}", urlencode(kept)[:300] or None)
        return ctx

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def _key_active(service: Service, key_id: str) -> bool:
    stored = service.keys.get(key_id)
    return stored is not None and stored.status(datetime.now(UTC)) == "active"


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def url_with(request: Request, **changes: str | None) -> str:
    """The current path and query with some parameters changed (None removes one)."""
    params = dict(request.query_params)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def base_context(request: Request, console: Console, lang: str) -> dict[str, Any]:
    """What every template sees, signed in or not."""

    def t(key: str, /, **values: object) -> str:
        return console.catalogues.translate(lang, key, **values)

    def tr(key: str, default: str) -> str:
        return console.catalogues.translate_or(lang, key, default)

    return {
        "t": t,
        "tr": tr,
        "lang": lang,
        "path": request.url.path,
        "lang_url": lambda code: url_with(request, lang=code),
        "url_with": lambda **changes: url_with(request, **changes),
        "user": None,
        "nav": [],
        "csrf": "",
        "flashes": [],
        "charts": [],
        "errors": [],
    }


def render(
    ctx: Ctx,
    template: str,
    *,
    status: int = 200,
    charts: Sequence[Chart] = (),
    errors: Sequence[str] = (),
    **context: Any,
) -> Response:
    """The page, or one chart's rows as CSV when the URL asks ``?csv=<chart name>``."""
    wanted = ctx.request.query_params.get("csv")
    if wanted:
        for chart in charts:
            if chart.name == wanted:
                return csv_response(chart)
    values = base_context(ctx.request, ctx.console, ctx.lang)
    values.update(
        user=ctx.session,
        nav=[n for n in ctx.console.nav if ctx.allowed(n.permission)],
        csrf=ctx.session.csrf,
        flashes=list(ctx.session.flashes),
        charts=list(charts),
        errors=list(errors),
        csv_url=lambda name: url_with(ctx.request, csv=name, lang=None),
    )
    ctx.session.flashes.clear()
    values.update(context)
    response = html(ctx.console, template, values, status)
    if ctx.remember_lang:
        remember_language(response, ctx.lang)
    return response


def html(console: Console, template: str, values: Mapping[str, Any], status: int) -> Response:
    body = console.env.get_template(template).render(**values)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def remember_language(response: Response, lang: str) -> None:
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, samesite="strict", path="/")
