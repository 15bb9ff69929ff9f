"""Where the pseudonymisation key comes from, and the per-workspace key file.

A key is chosen in this order (see :meth:`shopmind.config.Settings.key_choice`):

1. ``SHOPMIND_PSEUDONYMIZE_KEY`` when set (any profile);
2. the built-in development key with ``SHOPMIND_PROFILE=dev`` (tests and the demo only:
   it is public, so its pseudonyms can be reversed by anyone who guesses ids);
3. with the default profile ``local``: the workspace's own random key,
   ``<workspace>/keys/pseudonymize.key`` (created on first use, mode 0600 in a 0700 folder).

The key file lives apart from the database file so that ``shopmind.duckdb`` can be copied or
shared without it; back it up apart from the workspace too: without it, later loads cannot
give the same people the same pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

#: Key file, relative to the workspace root.
KEY_FILE = Path("keys") / "pseudonymize.key"


@dataclass(frozen=True)
class KeyChoice:
    """A pseudonymisation key and where it came from."""

    key: bytes
    source: str  # "environment", "dev" or "workspace"
    path: Path | None = None  # the key file, for source "workspace"
    created: bool = False  # True when this call created the key file

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)


def key_fingerprint(key: bytes) -> str:
    """A short public name for a key (HMAC of a constant): tells keys apart, reveals nothing."""
    return hmac.new(key, b"shopmind key fingerprint", hashlib.sha256).hexdigest()[:16]


def workspace_key_path(root: Path) -> Path:
    return root / KEY_FILE


def read_workspace_key(root: Path) -> bytes | None:
    """The workspace's key, or None when it has none yet."""
    path = workspace_key_path(root)
    if not path.is_file():
        return None
    key = path.read_text(encoding="ascii").strip().encode()
    return key or None


def create_workspace_key(root: Path) -> bytes:
    """Write a new random key (256 bits, hex) to the workspace's key file, readable by the
    owner only; refuses to overwrite an existing one."""
    path = workspace_key_path(root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key.encode()


def workspace_key(root: Path, *, create: bool = True) -> KeyChoice | None:
    """The workspace's key, created when missing and ``create`` is true."""
    existing = read_workspace_key(root)
    path = workspace_key_path(root)
    if existing is not None:
        return KeyChoice(existing, "workspace", path)
    if not create:
        return None
    try:
        return KeyChoice(create_workspace_key(root), "workspace", path, created=True)
    except FileExistsError:  # another process created it in the meantime
        key = read_workspace_key(root)
        return KeyChoice(key, "workspace", path) if key else None
