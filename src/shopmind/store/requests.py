"""Personal-data requests: erasure (``forget``) and access (``export-user``), and their log.

Each request is one row of ``privacy_requests``: time, kind, the principal, rows per table
and files touched, and ``subject_hash`` = HMAC-SHA256 of the stored user id under a key
derived from the workspace's key (HKDF, info ``shopmind requests v1``), truncated to 128
bits. The log therefore holds neither the raw id nor the pseudonym, yet a repeated request
for the same person is recognisable by whoever holds the key. Each request also writes an
audit entry (request id and counts only).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shopmind.errors import WorkspaceError
from shopmind.jsonable import to_jsonable
from shopmind.store import vault
from shopmind.store.audit import (
    AuditChain,
    AuditEntry,
    audited_transaction,
    cli_principal,
)
from shopmind.store.compaction import compact_after_request
from shopmind.store.erasure import (
    Selection,
    counts,
    delete,
    resolve_user,
    scrub_json,
    selections,
)
from shopmind.store.migrations import migrate
from shopmind.store.outputs import (
    FileChange,
    apply_outputs,
    mark_stale,
    model_files,
    plan_outputs,
)
from shopmind.store.workspace import Workspace

_PSEUDONYM_LENGTH = 22


@dataclass
class RequestResult:
    """What a request did (or, with ``dry_run``, would do)."""

    request_id: str
    kind: str
    dry_run: bool
    subject_hash: str | None
    rows: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    stale_models: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        return {**to_jsonable(asdict(self)), "total_rows": self.total_rows}


def subject_hash(stored_id: str, key: bytes | None) -> str:
    """Keyed hash of a stored user id for the request log (unkeyed ``h_`` without a key)."""
    if not key:
        return "h_" + hashlib.sha256(b"shopmind request|" + stored_id.encode()).hexdigest()[:32]
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"shopmind requests v1"
    ).derive(key)
    return "r_" + hmac.new(derived, stored_id.encode(), hashlib.sha256).hexdigest()[:32]


def new_request_id(kind: str, at: datetime) -> str:
    return f"{kind}_{at:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


def log_request(
    con: duckdb.DuckDBPyConnection, result: RequestResult, principal: str, at: datetime
) -> None:
    """Insert the request row in the caller's transaction."""
    con.execute(
        "INSERT INTO privacy_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.request_id,
            result.kind,
            result.subject_hash,
            at,
            principal,
            json.dumps(result.rows),
            json.dumps(result.files),
            json.dumps(to_jsonable(result.detail)),
        ],
    )


JSON_COLUMNS = ("rows_removed", "files", "detail")


def list_requests(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict[str, Any]]:
    """Newest requests first; the JSON columns as objects and lists (DuckDB returns them as
    text)."""
    cursor = con.execute(
        "SELECT * FROM privacy_requests ORDER BY requested_at DESC LIMIT ?", [limit]
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        for column in JSON_COLUMNS:
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
    return [to_jsonable(row) for row in rows]


def _first_arrival(con: duckdb.DuckDBPyConnection, found: list[Selection]) -> datetime | None:
    """When the user's earliest loaded row arrived (start of its ingestion)."""
    tables = {
        str(r[0])
        for r in con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'ingestion_id'"
            " AND table_schema = 'main'"
        ).fetchall()
    }
    first: datetime | None = None
    for s in found:
        if s.table not in tables or s.table == "ingestions":
            continue
        row = con.execute(
            "SELECT min(started_at) FROM ingestions WHERE ingestion_id IN "
            f'(SELECT ingestion_id FROM "{s.table}" WHERE {s.where})',
            s.params,
        ).fetchone()
        if row and row[0] is not None and (first is None or row[0] < first):
            first = row[0]
    return first


def require_workspace(workspace: Workspace) -> None:
    """Refuse a missing workspace (a request must not create one)."""
    if not workspace.exists():
        raise WorkspaceError(
            f"No workspace at {workspace.root} (missing {workspace.db_path.name}).",
            hint="Point --workspace (or SHOPMIND_WORKSPACE) at the workspace that holds the data.",
        )


def _text_ids(stored: str, given: str) -> set[str]:
    """Ids distinctive enough to look for in free text (reports): pseudonyms, long ids."""
    return {i for i in (stored, given) if len(i) >= 8 or len(i) == _PSEUDONYM_LENGTH}


@dataclass
class Erasure:
    """A planned erasure: the result so far and what it will change."""

    result: RequestResult
    found: list[Selection]
    changes: list[FileChange]
    models: list[Path]
    ids: set[str]
    at: datetime
    stored: str


def plan_forget(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    user: str,
    key: bytes | None,
    *,
    dry_run: bool = False,
) -> Erasure:
    """Find the user's rows, files and models; with ``dry_run`` the counts are filled in."""
    at = datetime.now(UTC)
    stored = resolve_user(con, user, key)
    found = selections(con, stored, raw_id=user)
    ids = {stored, user}
    changes = plan_outputs(workspace, ids, text_ids=_text_ids(stored, user))
    models = model_files(workspace, since=_first_arrival(con, found))
    result = RequestResult(
        new_request_id("forget", at),
        "forget",
        dry_run,
        subject_hash(stored, key),
        rows=counts(con, found) if dry_run else {},
        detail={"json_scrubbed": scrub_json(con, stored, dry_run=True)} if dry_run else {},
        files=[c.to_dict(workspace.root) for c in changes],
        stale_models=[str(p) for p in models],
    )
    return Erasure(result, found, changes, models, ids, at, stored)


def commit_forget(
    con: duckdb.DuckDBPyConnection,
    erasure: Erasure,
    *,
    principal: str,
    role: str | None,
    chain: AuditChain,
) -> RequestResult:
    """Delete, mark models stale, log and audit, inside the caller's transaction; then the
    caller commits and calls :func:`finish_forget` for the files."""
    result = erasure.result
    result.rows = delete(con, erasure.found)
    result.detail["json_scrubbed"] = scrub_json(con, erasure.stored)
    reason = f"trained on data of an erased user ({result.request_id})"
    mark_stale(con, erasure.models, reason, result.request_id, erasure.at)
    log_request(con, result, principal, erasure.at)
    target = f"request={result.request_id} rows={result.total_rows} files={len(erasure.changes)}"
    chain.append(con, [AuditEntry(principal, role, "forget", target, "ok")])
    return result


def finish_forget(erasure: Erasure) -> None:
    """Rewrite or delete the output files naming the user (after the commit)."""
    apply_outputs(erasure.changes, erasure.ids)


def forget(
    workspace: Workspace,
    user: str,
    key: bytes | None,
    *,
    dry_run: bool = False,
    compact: bool = False,
    principal: str | None = None,
    role: str | None = "admin",
) -> RequestResult:
    """Erase ``user`` (the id as ingested, or as stored) from every table, quarantined record
    and output file of the workspace; mark the models trained on it stale; log the request.

    The database changes commit in one transaction (with the request row, the model marks
    and the audit entry); output files are rewritten after it, each atomically. With
    ``compact`` the database file is then rewritten (:mod:`shopmind.store.compaction`) so the
    erased rows' bytes leave the disk too; ``detail["compacted"]`` says the sizes. An unknown
    user raises :class:`~shopmind.store.erasure.PrivacyRequestError` and changes nothing."""
    require_workspace(workspace)
    who = principal or cli_principal()
    with workspace.connect() as con:
        migrate(con)
        erasure = plan_forget(con, workspace, user, key, dry_run=dry_run)
        if dry_run:
            return erasure.result
        with audited_transaction(con, workspace) as chain:
            commit_forget(con, erasure, principal=who, role=role, chain=chain)
    finish_forget(erasure)
    if compact:
        erasure.result.detail["compacted"] = compact_after_request(workspace)
    return erasure.result


def _value(value: Any, kind: str) -> Any:
    """A JSON-safe value; JSON columns as the objects they hold."""
    if kind.upper() == "JSON" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return to_jsonable(value)


def export_document(
    con: duckdb.DuckDBPyConnection,
    user: str,
    key: bytes | None,
    vault_keys: Sequence[bytes],
    *,
    principal: str,
    role: str | None,
    chain: AuditChain,
    target: str = "response",
) -> tuple[RequestResult, dict[str, Any]]:
    """The access document of ``user`` inside the caller's transaction: every row in every
    table (numbers as numbers, times as ISO-8601 strings, JSON columns as objects, binary
    columns left out) plus, when ``role`` may reveal, the vault's clear fields (through the
    audited :func:`shopmind.store.vault.reveal`); logs the request and audits it."""
    at = datetime.now(UTC)
    stored = resolve_user(con, user, key)
    tables: dict[str, list[dict[str, Any]]] = {}
    for s in selections(con, stored, raw_id=user):
        if s.table == "vault":
            continue
        cursor = con.execute(f'SELECT * FROM "{s.table}" WHERE {s.where}', s.params)
        names = [d[0] for d in cursor.description]
        kinds = [str(d[1]).upper() for d in cursor.description]
        tables[s.table] = [
            {
                n: _value(v, k)
                for n, v, k in zip(names, row, kinds, strict=True)
                if "BLOB" not in k and "BYTES" not in k
            }
            for row in cursor.fetchall()
        ]
    result = RequestResult(
        new_request_id("export", at),
        "export",
        False,
        subject_hash(stored, key),
        rows={t: len(r) for t, r in tables.items()},
        files=[{"path": target, "action": "write"}],
    )
    identity: dict[str, str] = {}
    if vault.allowed_to_reveal(role):
        purpose = f"export-user {result.request_id}"
        found = vault.reveal(
            con,
            [stored],
            vault_keys,
            principal=principal,
            role=role,
            purpose=purpose,
            chain=chain,
        )
        identity = found.get(stored, {})
    result.detail = {"vault_fields": sorted(identity)}
    log_request(con, result, principal, at)
    audit_target = f"request={result.request_id} rows={result.total_rows}"
    chain.append(con, [AuditEntry(principal, role, "export-user", audit_target, "ok")])
    document = {
        "request_id": result.request_id,
        "exported_at": at.isoformat(),
        "user_id": stored,
        "vault": identity,
        "tables": tables,
    }
    return result, document


def export_user(
    workspace: Workspace,
    user: str,
    key: bytes | None,
    out: Path,
    *,
    vault_keys: Sequence[bytes] = (),
    principal: str | None = None,
    role: str | None = "admin",
) -> RequestResult:
    """Write the access document of ``user`` (:func:`export_document`) to ``out`` as JSON;
    the request row and audit entries commit only once the file is written."""
    require_workspace(workspace)
    who = principal or cli_principal()
    with workspace.connect() as con:
        migrate(con)
        with audited_transaction(con, workspace) as chain:
            result, document = export_document(
                con,
                user,
                key,
                vault_keys,
                principal=who,
                role=role,
                chain=chain,
                target=out.name,
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(out)
    return result
