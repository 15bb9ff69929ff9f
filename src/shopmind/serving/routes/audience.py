"""Audiences for activation: pseudonyms for ``audience.read``, original ids and contact
fields for ``audience.reveal``.

A reveal runs on the service's one writer, in one transaction with its audit entries: the
vault reader (:func:`shopmind.store.vault.reveal`) appends one with the number of people
revealed (never the ids), and the route another with the caller and the audience.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from shopmind.marketing.audience import AudienceError, list_audiences, members, reveal_members
from shopmind.serving.auth import PrincipalDep, ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry
from shopmind.store.vault import VaultError

router = APIRouter(prefix="/audiences", tags=["audience"], responses=ERROR_RESPONSES)
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class AudienceInfo(BaseModel):
    audience: str
    members: int
    source: str | None = None
    created_at: str | None = None


class AudienceList(BaseModel):
    audiences: list[AudienceInfo]


class Member(BaseModel):
    rank: int
    user_id: str
    score: float | None = None
    original_id: str | None = None
    email: str | None = None
    phone: str | None = None


class Members(BaseModel):
    audience: str
    revealed: bool
    members: list[Member]


@router.get("", response_model=AudienceList, dependencies=[require("audience.read")])
def audiences(service: ServiceDep) -> AudienceList:
    """Audiences with their size and source (build them with `shopmind audience build`)."""
    rows = list_audiences(service.cursor())
    return AudienceList(audiences=[AudienceInfo.model_validate(r) for r in rows])


@router.get("/{name}", response_model=Members, dependencies=[require("audience.read")])
def audience(service: ServiceDep, name: Name) -> Members:
    """The audience's members as stored (pseudonyms) with rank and score."""
    try:
        rows = members(service.cursor(), name)
    except AudienceError as exc:
        raise ApiError(404, str(exc), code="unknown_audience") from None
    return Members(audience=name, revealed=False, members=[Member(**r) for r in rows])


@router.post("/{name}/reveal", response_model=Members, dependencies=[require("audience.reveal")])
async def reveal(service: ServiceDep, principal: PrincipalDep, name: Name) -> Members:
    """Members with original id, e-mail and phone from the encrypted vault (audited)."""
    keys = service.vault_keys()

    def work(con: Any) -> list[dict[str, Any]]:
        return reveal_members(
            con,
            name,
            keys,
            principal=principal.id,
            role=principal.role,
            chain=service.writer.chain,
        )

    entry = AuditEntry(principal.id, principal.role, "audience reveal", f"audience={name}", "200")
    try:
        future = service.writer.submit_call(work, entry)
    except Busy as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    try:
        rows = await asyncio.wait_for(asyncio.wrap_future(future), 60)
    except AudienceError as exc:
        raise ApiError(404, str(exc), code="unknown_audience") from None
    except VaultError as exc:
        raise ApiError(409, str(exc), code="vault_unavailable") from None
    return Members(audience=name, revealed=True, members=[Member(**r) for r in rows])
