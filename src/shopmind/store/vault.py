"""The re-identification vault: stored user id (pseudonym) -> original id and contact fields.

Each value is encrypted with AES-256-GCM (NIST SP 800-38D; ``cryptography``'s ``AESGCM``)
under the vault key, with a random 96-bit nonce and the row's ``user_id|field`` as
associated data, so a ciphertext moved to another row does not decrypt. The table holds no
clear value; ``key_id`` (a fingerprint, not the key) tells which key wrote a row.

The vault key is ``SHA-256(SHOPMIND_VAULT_KEY)`` when that is set, else HKDF-SHA256 of the
pseudonymisation key (RFC 5869, info ``shopmind vault v1``): whoever holds the
pseudonymisation key can already re-identify known ids, so the derived key adds no new
holder; a separate SHOPMIND_VAULT_KEY lets the activation team hold the only key.

:func:`reveal` is the one reader: it checks the caller's role against the permission
``audience.reveal`` and appends an audit entry (the number of people revealed, never the
ids) in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shopmind.errors import ShopmindError
from shopmind.privacy.keys import key_fingerprint
from shopmind.security.permissions import allowed, roles_for
from shopmind.store.audit import AuditChain, AuditEntry

#: Fields the vault keeps: the original user id and the contact columns of a users file.
FIELDS = ("user_id", "email", "phone")
#: PII kinds (``shopmind.privacy.pii_kind``) kept encrypted as contact fields.
CONTACT_KINDS = ("email", "phone")
REVEAL_PERMISSION = "audience.reveal"
_NONCE_BYTES = 12


class VaultError(ShopmindError):
    """The vault cannot be read: wrong key, no key, or a role without the permission."""


def vault_key(pseudonymization_key: bytes | None, configured: str | None = None) -> bytes | None:
    """The 32-byte AES key (see the module docstring); None without any key."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    if not pseudonymization_key:
        return None
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shopmind vault v1")
    return hkdf.derive(pseudonymization_key)


def _aad(user_id: str, field: str) -> bytes:
    return f"{user_id}|{field}".encode()


def store(
    con: duckdb.DuckDBPyConnection, entries: Iterable[tuple[str, str, str]], key: bytes
) -> int:
    """Encrypt and keep ``(stored user id, field, clear value)`` rows in the caller's
    transaction. An original id is written once per user; a contact field replaces the
    previous value. Returns the rows written."""
    rows: dict[tuple[str, str], str] = {}
    for user_id, field, value in entries:
        if field not in FIELDS:
            raise ValueError(f"vault field {field!r} is not one of {FIELDS}")
        if user_id and value:
            rows[(user_id, field)] = value
    batch = pa.table(
        {
            "user_id": pa.array([u for u, _ in rows], pa.string()),
            "field": pa.array([f for _, f in rows], pa.string()),
            "value": pa.array(list(rows.values()), pa.string()),
        }
    )
    con.register("_vault_entries", batch)
    try:
        return store_query(con, "SELECT user_id, field, value, 0 AS seq FROM _vault_entries", key)
    finally:
        con.unregister("_vault_entries")


def store_query(con: duckdb.DuckDBPyConnection, query: str, key: bytes) -> int:
    """:func:`store` for the rows of a SELECT of ``(user_id, field, value, seq)`` run on
    ``con`` (of several values of one user and field, the one with the highest ``seq`` is
    kept): the clear values go from DuckDB to the cipher in one Arrow batch, and original
    ids already in the vault are left out in SQL, so a reload encrypts only new people."""
    pending = con.execute(
        "SELECT user_id, field, arg_max(value, seq) AS value FROM ("
        "SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(field AS VARCHAR) AS field, "
        f"CAST(value AS VARCHAR) AS value, seq FROM ({query})) e "
        "WHERE user_id IS NOT NULL AND user_id <> '' AND value IS NOT NULL AND value <> '' "
        f"AND field IN ({', '.join(repr(f) for f in FIELDS)}) AND NOT (field = 'user_id' AND "
        "EXISTS (SELECT 1 FROM vault v WHERE v.field = 'user_id' AND v.user_id = e.user_id)) "
        "GROUP BY user_id, field"
    ).to_arrow_table()
    if pending.num_rows == 0:
        return 0
    users = pending.column("user_id").to_pylist()
    fields = pending.column("field").to_pylist()
    values = pending.column("value").to_pylist()
    encrypt = AESGCM(key).encrypt
    # one call to the OS for all nonces: 96 random bits per row (NIST SP 800-38D 8.2.2)
    pool = os.urandom(_NONCE_BYTES * len(users))
    nonces = [pool[i : i + _NONCE_BYTES] for i in range(0, len(pool), _NONCE_BYTES)]
    ciphertexts = [
        encrypt(n, v.encode(), _aad(u, f))
        for n, u, f, v in zip(nonces, users, fields, values, strict=True)
    ]
    batch = pa.table(
        {
            "user_id": pending.column("user_id"),
            "field": pending.column("field"),
            "nonce": pa.array(nonces, type=pa.binary()),
            "ciphertext": pa.array(ciphertexts, type=pa.binary()),
        }
    )
    con.register("_vault_batch", batch)
    try:
        # an original id is only pending when the vault has none for that user (the query
        # above), so only contact fields can replace a stored row
        if any(f != "user_id" for f in fields):
            con.execute(
                "DELETE FROM vault USING _vault_batch b WHERE b.field <> 'user_id' "
                "AND vault.user_id = b.user_id AND vault.field = b.field"
            )
        con.execute(
            "INSERT INTO vault SELECT user_id, field, nonce, ciphertext, ?, ? FROM _vault_batch",
            [key_fingerprint(key), datetime.now(UTC)],
        )
    finally:
        con.unregister("_vault_batch")
    return batch.num_rows


def allowed_to_reveal(role: str | None) -> bool:
    """Whether ``role`` holds ``audience.reveal``."""
    return role is not None and allowed(REVEAL_PERMISSION, role)


def reveal(
    con: duckdb.DuckDBPyConnection,
    user_ids: Sequence[str],
    keys: Sequence[bytes],
    *,
    principal: str,
    role: str | None,
    purpose: str,
    chain: AuditChain,
) -> dict[str, dict[str, str]]:
    """Stored user id -> ``{field: clear value}`` for ``user_ids`` (ids without a vault row
    are absent). The one audited read of the vault: a role without ``audience.reveal`` is
    refused (and the refusal audited); otherwise one entry with the count is appended via
    ``chain`` on ``con`` (the caller commits, then calls ``chain.commit_head()``).
    ``keys``: candidate vault keys; each row is opened with the key its ``key_id`` names."""
    if not allowed_to_reveal(role):
        chain.append(con, [AuditEntry(principal, role, "vault reveal", purpose, "denied")])
        raise VaultError(
            f"Role '{role}' may not reveal original ids.",
            hint=f"Use a key whose role holds '{REVEAL_PERMISSION}' "
            f"({', '.join(sorted(roles_for(REVEAL_PERMISSION)))}).",
        )
    ciphers = {key_fingerprint(k): AESGCM(k) for k in keys}
    con.register("_reveal_ids", pa.table({"user_id": pa.array(list(user_ids), pa.string())}))
    try:
        rows = con.execute(
            "SELECT v.user_id, v.field, v.nonce, v.ciphertext, v.key_id FROM vault v "
            "WHERE v.user_id IN (SELECT user_id FROM _reveal_ids)"
        ).fetchall()
    finally:
        con.unregister("_reveal_ids")
    out: dict[str, dict[str, str]] = {}
    for user_id, field, nonce, ciphertext, row_key in rows:
        aes = ciphers.get(str(row_key))
        if aes is None:
            raise VaultError(
                f"Vault entries were written with a key this process does not hold (key id "
                f"{row_key}; held: {', '.join(sorted(ciphers)) or 'none'}).",
                hint="Set SHOPMIND_VAULT_KEY (or the pseudonymisation key) used when the data "
                "was ingested.",
            )
        try:
            clear = aes.decrypt(bytes(nonce), bytes(ciphertext), _aad(user_id, field))
        except InvalidTag:
            raise VaultError(
                f"A vault entry of key id {row_key} does not decrypt: it was altered or moved.",
                hint="Restore the workspace from a backup; the vault cannot be read as it is.",
            ) from None
        out.setdefault(str(user_id), {})[str(field)] = clear.decode()
    chain.append(
        con,
        [AuditEntry(principal, role, "vault reveal", f"{purpose} people={len(out)}", "ok")],
    )
    return out


def count(con: duckdb.DuckDBPyConnection) -> int:
    """People with a vault entry."""
    row = con.execute("SELECT count(DISTINCT user_id) FROM vault").fetchone()
    return int(row[0]) if row else 0
