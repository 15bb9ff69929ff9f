"""Administration: API keys (created, listed, revoked through the service while it holds
the workspace) and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from shopmind.security.keys import AccessError, create_key, revoke_key
from shopmind.serving.auth import PrincipalDep, ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.schemas import (
    AuditList,
    AuditVerification,
    IssuedKey,
    KeyInfo,
    KeyList,
    KeyRequest,
    plain,
)
from shopmind.serving.service import Service
from shopmind.serving.writer import Busy
from shopmind.store import audit
from shopmind.store.audit import AuditEntry

router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[require("admin")], responses=ERROR_RESPONSES
)


async def _write(service: Service, work: Any, entry: AuditEntry) -> Any:
    try:
        future = service.writer.submit_call(work, entry)
    except Busy as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), 30)
    except AccessError as exc:
        raise ApiError(404 if "No key" in str(exc) else 422, str(exc)) from None


@router.post("/keys", response_model=IssuedKey, status_code=201)
async def create(service: ServiceDep, principal: PrincipalDep, body: KeyRequest) -> IssuedKey:
    """A new key; the answer is the only time the key is shown."""
    lifetime = timedelta(days=body.expires_days) if body.expires_days else None

    def work(con: Any) -> Any:
        issued = create_key(
            con,
            body.role,
            name=body.name,
            expires_in=lifetime,
            created_by=principal.id,
            rate_limit=body.rate_limit,
        )
        from shopmind.security.keys import get_key

        stored = get_key(con, issued.key_id)
        assert stored is not None
        service.keys[stored.key_id] = stored
        return issued

    entry = AuditEntry(principal.id, principal.role, "keys create", f"role={body.role}", "201")
    issued = await _write(service, work, entry)
    return IssuedKey.model_validate(plain(issued.to_dict()))


@router.get("/keys", response_model=KeyList)
def list_keys(service: ServiceDep) -> KeyList:
    rows = [plain(k.public()) for k in service.keys.values()]
    return KeyList(keys=[KeyInfo.model_validate(r) for r in rows])


@router.delete("/keys/{key_id}", response_model=KeyInfo)
async def revoke(
    service: ServiceDep,
    principal: PrincipalDep,
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> KeyInfo:
    """Revoke a key; it is refused from the next request on."""
    if key_id not in service.keys:
        raise ApiError(404, f"No key with id '{key_id}'.", code="unknown_key")

    def work(con: Any) -> Any:
        row = revoke_key(con, key_id)
        service.keys[key_id] = row
        return row

    entry = AuditEntry(principal.id, principal.role, "keys revoke", f"key={key_id}", "200")
    row = await _write(service, work, entry)
    return KeyInfo.model_validate(plain(row.public()))


@router.get("/audit", response_model=AuditList)
def audit_show(
    service: ServiceDep,
    since: datetime | None = None,
    principal: Annotated[str | None, Query(max_length=300)] = None,
    action: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """Newest audit entries first (entries of the last ~0.2 s may still be in flight)."""
    if since is not None and since.tzinfo is None:
        raise ApiError(422, "since needs a time zone (e.g. 2025-01-01T00:00:00Z).")
    rows = audit.show(
        service.cursor(), since=since, principal=principal, action=action, limit=limit
    )
    return AuditList.model_validate({"entries": plain(rows)})


@router.get("/audit/verify", response_model=AuditVerification)
def audit_verify(service: ServiceDep) -> AuditVerification:
    """Recompute the audit trail's hash chain."""
    report = audit.verify(service.cursor(), audit.head_path(service.workspace))
    return AuditVerification.model_validate(report.to_dict())
