"""Keyed pseudonyms for identifiers: HMAC-SHA256 (RFC 2104), truncated to 80 bits.

The same key maps the same raw id to the same pseudonym, so loads from different files join.
The SQL form computes exactly the same value inside DuckDB, vectorised, so raw ids never
leave the staging area of an ingest.
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: Hex characters kept from the HMAC digest (80 bits: collisions are negligible below 1e9 ids).
PSEUDONYM_HEX_CHARS = 20
_BLOCK = 64  # SHA-256 block size in bytes


_FORM = re.compile(rf"[a-z]_[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}")


def is_pseudonym(text: str) -> bool:
    """Whether ``text`` has the form of a pseudonym (a letter, ``_``, 20 hex characters)."""
    return _FORM.fullmatch(text) is not None


def pseudonymize(value: str, key: bytes, prefix: str = "u_") -> str:
    """Pseudonym of one identifier: ``prefix + hex(HMAC-SHA256(key, value))[:20]``."""
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return prefix + digest[:PSEUDONYM_HEX_CHARS]


def _pads(key: bytes) -> tuple[str, str]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    return inner, outer


def pseudonymize_sql(expression: str, key: bytes, prefix: str = "u_") -> str:
    """A DuckDB SQL expression equal to :func:`pseudonymize` of ``expression`` (NULL stays NULL)."""
    inner, outer = _pads(key)
    digest = (
        f"sha256(from_hex('{outer}') || "
        f"from_hex(sha256(from_hex('{inner}') || encode(CAST({expression} AS VARCHAR)))))"
    )
    return (
        f"CASE WHEN ({expression}) IS NULL THEN NULL "
        f"ELSE '{prefix}' || left({digest}, {PSEUDONYM_HEX_CHARS}) END"
    )
