"""Admin (role admin): API keys and roles (list, create -- the key is shown once --, revoke),
the audit trail (recent entries, chain verification), data health (ingestions, quarantine
counts with reasons) and the differential-privacy budget. Writes go through the service's
writer, like ``/v1/admin``; each is audited."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from shopmind.security import ROLES
from shopmind.security.keys import AccessError, create_key, get_key, revoke_key
from shopmind.serving.web import forms
from shopmind.serving.web.framework import Ctx, NavItem, page, render
from shopmind.serving.writer import Busy
from shopmind.store import audit
from shopmind.store.audit import AuditEntry
from shopmind.store.info import ingestion_log

router = APIRouter()
NAV = [NavItem("/admin", "nav.admin", "admin", order=90)]
VIEWS = ("keys", "audit", "data", "privacy")
WRITE_TIMEOUT_S = 30


def _show(ctx: Ctx, view: str, errors: list[str], **values: Any) -> Response:
    return render(
        ctx,
        f"admin_{view}.html",
        errors=errors,
        view=view,
        views=[(v, "/admin" if v == "keys" else f"/admin/{v}") for v in VIEWS],
        **values,
    )


def _write(ctx: Ctx, work: Any, action: str, target: str) -> Any:
    """Run ``work(con)`` on the writer's connection, audited; waits up to 30 s."""
    entry = AuditEntry(ctx.session.principal, ctx.role, action, target, "ok")
    return ctx.service.writer.submit_call(work, entry).result(timeout=WRITE_TIMEOUT_S)


def _keys(ctx: Ctx, errors: list[str], **values: Any) -> Response:
    keys = sorted(ctx.service.keys.values(), key=lambda k: k.created_at, reverse=True)
    return _show(
        ctx,
        "keys",
        errors,
        keys=keys,
        role_options=[(r, ctx.t("role." + r)) for r in ROLES],
        **{"issued": None, **values},
    )


@router.get("/admin")
def keys_page(ctx: Annotated[Ctx, page("admin")]) -> Response:
    return _keys(ctx, [])


@router.post("/admin/keys")
def create(ctx: Annotated[Ctx, page("admin")]) -> Response:
    errors: list[str] = []
    role = forms.choice(ctx, "role", ROLES, "", errors)
    name = forms.text(ctx, "name")[:100] or None
    days = forms.integer(ctx, "expires_days", 0, 0, 3650, errors)
    if errors or not role:
        return _keys(ctx, errors or [ctx.t("admin.pick_role")])
    principal = ctx.session.principal
    service = ctx.service

    def work(con: Any) -> Any:
        lifetime = timedelta(days=days) if days else None
        issued = create_key(con, role, name=name, expires_in=lifetime, created_by=principal)
        stored = get_key(con, issued.key_id)
        assert stored is not None
        service.keys[stored.key_id] = stored
        return issued

    try:
        issued = _write(ctx, work, "console keys create", f"role={role}")
    except (AccessError, Busy) as exc:
        return _keys(ctx, [str(exc)])
    return _keys(ctx, [], issued=issued)


@router.post("/admin/keys/revoke")
def revoke(ctx: Annotated[Ctx, page("admin")]) -> Response:
    key_id = forms.text(ctx, "key_id")
    if key_id not in ctx.service.keys:
        return _keys(ctx, [ctx.t("admin.unknown_key", key=key_id[:64])])
    service = ctx.service

    def work(con: Any) -> Any:
        row = revoke_key(con, key_id)
        service.keys[key_id] = row
        return row

    try:
        _write(ctx, work, "console keys revoke", f"key={key_id}")
    except (AccessError, Busy) as exc:
        return _keys(ctx, [str(exc)])
    ended = ctx.console.sessions.drop_key(key_id)
    ctx.flash(ctx.t("admin.revoked", key=key_id, sessions=ended))
    return RedirectResponse("/admin", 303)


@router.get("/admin/audit")
def audit_page(ctx: Annotated[Ctx, page("admin")]) -> Response:
    errors: list[str] = []
    principal = ctx.query("principal") or None
    action = ctx.query("action") or None
    limit = forms.integer(ctx, "limit", 100, 1, 1000, errors)
    entries = audit.show(ctx.cursor(), principal=principal, action=action, limit=limit)
    head = audit.head_path(ctx.service.workspace)
    report = audit.verify(ctx.cursor(), head) if ctx.query("verify") else None
    return _show(
        ctx,
        "audit",
        errors,
        entries=entries,
        report=report,
        principal=principal or "",
        action=action or "",
        limit=limit,
    )


@router.get("/admin/data")
def data_page(ctx: Annotated[Ctx, page("admin")]) -> Response:
    cur = ctx.cursor()
    ingestions = [
        {
            "id": r["ingestion_id"],
            "file": PurePath(str(r["file"])).name,  # the name only: folders may name people
            "format": r["format"],
            "target": r["target"],
            "rows_in": r["rows_in"],
            "loaded": r["rows_loaded"],
            "quarantined": r["rows_quarantined"],
            "duplicates": r["duplicates_skipped"],
            "finished": r["finished_at"],
            "balanced": r["rows_in"]
            == r["rows_loaded"] + r["rows_quarantined"] + r["duplicates_skipped"],
        }
        for r in ingestion_log(cur, newest_first=True, limit=200)
    ]
    reasons = cur.execute(
        "SELECT source, reason, count(*) AS n FROM quarantine GROUP BY ALL "
        "ORDER BY n DESC, source, reason LIMIT 200"
    ).fetchall()
    tables = cur.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM users), "
        "(SELECT count(*) FROM items), (SELECT count(*) FROM orders), "
        "(SELECT count(*) FROM quarantine)"
    ).fetchone()
    return _show(
        ctx,
        "data",
        [],
        ingestions=ingestions,
        reasons=reasons,
        counts=dict(
            zip(("events", "users", "items", "orders", "quarantine"), tables or (), strict=False)
        ),
    )


def privacy_budget(ctx: Ctx) -> dict[str, Any] | None:
    """The budget row and the newest releases, or None when the module or table is absent."""
    if importlib.util.find_spec("shopmind.store.privacy_budget") is None:
        return None
    cur = ctx.cursor()
    present = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('privacy_budget', "
        "'privacy_ledger') AND database_name = current_database()"
    ).fetchone()
    if not present or present[0] < 2:
        return None
    row = cur.execute(
        "SELECT epsilon_total, epsilon_spent, updated_at, updated_by FROM privacy_budget "
        "WHERE budget_id = 1"
    ).fetchone()
    ledger = cur.execute(
        "SELECT release_id, ts, kind, query, epsilon, delta, mechanism, principal "
        "FROM privacy_ledger ORDER BY ts DESC, release_id LIMIT 50"
    ).fetchall()
    total, spent = (float(row[0]), float(row[1])) if row else (10.0, 0.0)
    return {
        "total": total,
        "spent": spent,
        "remaining": max(total - spent, 0.0),
        "updated_at": row[2] if row else None,
        "updated_by": row[3] if row else None,
        "ledger": ledger,
    }


@router.get("/admin/privacy")
def privacy_page(ctx: Annotated[Ctx, page("admin")]) -> Response:
    return _show(ctx, "privacy", [], budget=privacy_budget(ctx))
