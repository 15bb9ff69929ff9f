"""Customers (``/customers``, admins, marketers and service agents): find a customer and see
their tags, CLV, propensity with reasons, recommendations with titles and reasons,
conversations and risk flags.

Every customer shown is read through :func:`shopmind.marketing.customer_view.customer_view`,
which audits the view (pseudonym only). Customers are found by the start of their stored id
(pseudonym); roles holding ``audience.reveal`` may also look one up by the id the shop knows
(mapped with the service's pseudonymisation key, audited) and reveal the original id and
contact fields from the encrypted vault (:func:`shopmind.store.vault.reveal` on the
service's writer, as the audience API's reveal, audited with the count).
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter
from starlette.responses import Response

from shopmind.errors import ShopmindError
from shopmind.marketing.customer_view import customer_view, find_customers, prepare
from shopmind.serving.web import forms
from shopmind.serving.web.framework import Ctx, NavItem, page, render
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry

router = APIRouter()
NAV = [NavItem("/customers", "nav.customers", "customers.read", order=30)]
WRITE_TIMEOUT_S = 30
log = logging.getLogger("shopmind.serving")
_prepared: set[int] = set()
_prepared_lock = threading.Lock()


def _prepare_in_background(ctx: Ctx) -> None:
    """Score every user with the CLV and propensity models once, in a background thread with
    its own cursor, so that the first customer view does not wait for it."""
    service = ctx.service
    with _prepared_lock:
        if id(service) in _prepared:
            return
        _prepared.add(id(service))

    def run() -> None:
        try:
            with service.tables() as tables:
                prepare(service.workspace, tables)
        except Exception:  # a customer view computes it again and shows the error
            log.exception("customer models warm-up failed")

    threading.Thread(target=run, name="shopmind-customers-warm-up", daemon=True).start()


def _show(ctx: Ctx, errors: list[str], **values: Any) -> Response:
    context: dict[str, Any] = {
        "q": "",
        "original": "",
        "found": None,
        "view": None,
        "revealed": None,
        "can_reveal": ctx.allowed("audience.reveal"),
        "inbox": ctx.allowed("assistant"),
        "risk_page": ctx.allowed("risk"),
    }
    context.update(values)
    return render(ctx, "customers.html", errors=errors, **context)


def _view(ctx: Ctx, user_id: str) -> dict[str, Any]:
    with ctx.tables() as tables:
        return customer_view(
            ctx.cursor(),
            ctx.service.workspace,
            user_id,
            audit=ctx.service.writer.audit,
            principal=ctx.session.principal,
            role=ctx.role,
            tables=tables,
            recommending=ctx.service.recommending,
        )


@router.get("/customers")
def customers(ctx: Annotated[Ctx, page("customers.read", personal=True)]) -> Response:
    errors: list[str] = []
    _prepare_in_background(ctx)
    q = forms.text(ctx, "q")
    user = forms.text(ctx, "user")
    original = forms.text(ctx, "original")
    found = None
    view = None
    try:
        if original:
            if not ctx.allowed("audience.reveal"):
                raise ShopmindError(
                    ctx.t("customers.no_lookup"), hint=ctx.t("customers.no_lookup_hint")
                )
            user = ctx.service.stored_user_id(original)
            ctx.audit("console customers lookup", f"user={ctx.service.audit_user_id(user)}")
        if q:
            found = find_customers(ctx.cursor(), q)
        if user:
            view = _view(ctx, user)
    except ShopmindError as exc:
        errors.append(str(exc))
    return _show(ctx, errors, q=q, original=original, found=found, view=view)


@router.post("/customers/reveal")
def reveal(ctx: Annotated[Ctx, page("audience.reveal")]) -> Response:
    """The customer's original id and contact fields from the vault (audited)."""
    from shopmind.store.vault import reveal as vault_reveal

    errors: list[str] = []
    user = forms.text(ctx, "user")
    service = ctx.service
    keys = service.vault_keys()

    def work(con: Any) -> dict[str, dict[str, str]]:
        return vault_reveal(
            con,
            [user],
            keys,
            principal=ctx.session.principal,
            role=ctx.role,
            purpose=f"console customer user={service.audit_user_id(user)}",
            chain=service.writer.chain,
        )

    entry = AuditEntry(
        ctx.session.principal,
        ctx.role,
        "console customers reveal",
        f"user={service.audit_user_id(user)}",
        "ok",
    )
    revealed: dict[str, str] | None = None
    view = None
    try:
        view = _view(ctx, user)
        found = service.writer.submit_call(work, entry).result(timeout=WRITE_TIMEOUT_S)
        revealed = found.get(user, {})
    except (ShopmindError, Busy) as exc:
        errors.append(str(exc))
    return _show(ctx, errors, view=view, revealed=revealed)
