"""API keys: random, shown once, stored only as a SHA-256 hash, with expiry and revocation.

A key reads ``smk_<key id>_<secret>``: the key id (12 hex characters) finds the stored row,
the secret is 32 random bytes (``secrets.token_urlsafe``). Only ``sha256(key)`` is stored,
so the workspace never holds a usable key; the key id alone grants nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from shopmind.errors import ShopmindError
from shopmind.security.permissions import ROLES

KEY_PREFIX = "smk_"
_KEY_RE = re.compile(r"^smk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class AccessError(ShopmindError):
    """A key cannot be created, found or revoked as asked."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key (no secret): what the service checks a presented key against."""

    key_id: str
    key_hash: str
    role: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by: str | None
    rate_limit: float | None = None  # requests/s; None: the service's default

    def status(self, now: datetime | None = None) -> str:
        """'active', 'expired' or 'revoked'."""
        now = now or datetime.now(UTC)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def matches(self, presented: str) -> bool:
        """Constant-time comparison of the presented key's hash with the stored one."""
        return hmac.compare_digest(hash_key(presented), self.key_hash)

    def public(self) -> dict[str, Any]:
        """The row without the hash (for listings)."""
        row = asdict(self)
        row.pop("key_hash")
        row["status"] = self.status()
        return row


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``key`` is the only copy of the secret and is never stored."""

    key: str
    key_id: str
    role: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    rate_limit: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(presented: str) -> str | None:
    """The key id of a well-formed key, else None (no lookup happens for garbage)."""
    match = _KEY_RE.match(presented)
    return match.group(1) if match else None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccessError(f"Unknown role '{role}'.", hint=f"Use one of: {', '.join(ROLES)}.")
    return role


def create_key(
    con: duckdb.DuckDBPyConnection,
    role: str,
    *,
    name: str | None = None,
    expires_in: timedelta | None = None,
    created_by: str | None = None,
    rate_limit: float | None = None,
    now: datetime | None = None,
) -> IssuedKey:
    """Make a key for ``role``, store its hash and return it (the only time it is seen)."""
    check_role(role)
    if expires_in is not None and expires_in.total_seconds() <= 0:
        raise AccessError("A key's lifetime must be positive.", hint="Use e.g. --expires-days 90.")
    if rate_limit is not None and rate_limit <= 0:
        raise AccessError("A key's rate limit must be positive (requests per second).")
    if name is not None and len(name) > 200:
        raise AccessError("A key name is at most 200 characters.")
    created = now or datetime.now(UTC)
    expires = created + expires_in if expires_in is not None else None
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    con.execute(
        f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        [key_id, hash_key(key), role, name, created, expires, created_by, rate_limit],
    )
    return IssuedKey(key, key_id, role, name, created, expires, rate_limit)


def _row(values: tuple[Any, ...]) -> ApiKey:
    return ApiKey(*values)


_COLUMNS = (
    "key_id, key_hash, role, name, created_at, expires_at, revoked_at, created_by, rate_limit"
)


def list_keys(con: duckdb.DuckDBPyConnection) -> list[ApiKey]:
    rows = con.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id").fetchall()
    return [_row(r) for r in rows]


def get_key(con: duckdb.DuckDBPyConnection, key_id: str) -> ApiKey | None:
    rows = con.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", [key_id]).fetchall()
    return _row(rows[0]) if rows else None


def revoke_key(con: duckdb.DuckDBPyConnection, key_id: str, now: datetime | None = None) -> ApiKey:
    """Revoke a key by id (revoking twice keeps the first time); returns the stored row."""
    found = get_key(con, key_id)
    if found is None:
        raise AccessError(f"No key with id '{key_id[:40]}'.", hint="See `shopmind keys list`.")
    if found.revoked_at is None:
        con.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ?",
            [now or datetime.now(UTC), key_id],
        )
    revoked = get_key(con, key_id)
    assert revoked is not None
    return revoked
