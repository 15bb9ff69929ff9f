"""Personal-data requests over the API (permission ``privacy.requests``, admins).

Both requests run on the service's one writer. ``POST /privacy/export`` answers an access
request: the user's rows and the vault's fields, in one transaction with the request row and
its audit entries. ``POST /privacy/forget`` erases a user: the rows, the model marks, the
request row and the audit entry commit in one transaction, then the output files naming the
user are rewritten and the user's precomputed recommendations dropped (the loaded model
itself stays until the service restarts on a retrained one). ``GET /privacy/requests`` lists
the request log (keyed hashes of ids, never the ids).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from shopmind.serving.auth import PrincipalDep, ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry
from shopmind.store.erasure import PrivacyRequestError
from shopmind.store.requests import (
    commit_forget,
    export_document,
    finish_forget,
    list_requests,
    plan_forget,
)
from shopmind.store.vault import VaultError

router = APIRouter(
    prefix="/privacy",
    tags=["privacy"],
    dependencies=[require("privacy.requests")],
    responses=ERROR_RESPONSES,
)


class UserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, description="The id as ingested.")


class ForgetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, description="The id as ingested.")
    dry_run: bool = False


@router.get("/requests")
def requests(
    service: ServiceDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """The request log, newest first."""
    return {"requests": list_requests(service.cursor(), limit)}


@router.post("/forget")
async def forget(
    service: ServiceDep, principal: PrincipalDep, body: ForgetRequest
) -> dict[str, Any]:
    """Erase one user (see `shopmind forget --help`); ``dry_run`` only counts."""
    key = service.options.pseudonymize_key

    def work(con: Any) -> Any:
        erasure = plan_forget(con, service.workspace, body.user_id, key, dry_run=body.dry_run)
        if not body.dry_run:
            commit_forget(
                con,
                erasure,
                principal=principal.id,
                role=principal.role,
                chain=service.writer.chain,
            )
        return erasure

    entry = AuditEntry(principal.id, principal.role, "privacy forget", None, "200")
    try:
        future = service.writer.submit_call(work, entry)
    except Busy as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    try:
        erasure = await asyncio.wait_for(asyncio.wrap_future(future), 120)
    except PrivacyRequestError as exc:
        raise ApiError(404, str(exc), code="unknown_user") from None
    if not body.dry_run:
        finish_forget(erasure)
        if service.recommending is not None:  # no answers from the erased history
            service.recommending.forget(erasure.stored)
    return erasure.result.to_dict()


@router.post("/export")
async def export(service: ServiceDep, principal: PrincipalDep, body: UserRequest) -> dict[str, Any]:
    """The user's rows in every table and the vault's clear fields (access request)."""
    key = service.options.pseudonymize_key
    keys = service.vault_keys()

    def work(con: Any) -> Any:
        return export_document(
            con,
            body.user_id,
            key,
            keys,
            principal=principal.id,
            role=principal.role,
            chain=service.writer.chain,
        )

    entry = AuditEntry(principal.id, principal.role, "privacy export", None, "200")
    try:
        future = service.writer.submit_call(work, entry)
    except Busy as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    try:
        result, document = await asyncio.wait_for(asyncio.wrap_future(future), 120)
    except PrivacyRequestError as exc:
        raise ApiError(404, str(exc), code="unknown_user") from None
    except VaultError as exc:  # as the audience reveal: nothing was exported
        raise ApiError(409, str(exc), code="vault_unavailable") from None
    return {"request": result.to_dict(), "document": document}
