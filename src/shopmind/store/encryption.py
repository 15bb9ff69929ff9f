"""Encryption at rest for a workspace (``SHOPMIND_WORKSPACE_KEY``).

Two layers, one passphrase:

* the database: DuckDB's own AES-GCM database encryption (``ATTACH ... (ENCRYPTION_KEY
  ...)``; the database file, its ``.wal`` and spill files hold no plaintext). DuckDB writes
  encrypted files only with OpenSSL, which the ``httpfs`` extension brings; it is loaded from
  the ``duckdb-extension-httpfs`` package (no download).
* every other file the workspace writes that may hold personal data (models, reports, the
  audit journal, simulator sources): AES-256-GCM (NIST SP 800-38D) with a key derived from
  the passphrase by scrypt (RFC 7914; N=2^14, r=8, p=1) and a random salt. A sealed file is
  ``MAGIC | salt (16) | nonce (12) | ciphertext+tag``; ``encryption.json`` in the workspace
  root marks the workspace as encrypted and holds the salt used for new files.

Library code gets the passphrase from :class:`~shopmind.store.Workspace` (``key=``), which
the CLI fills from Settings. :func:`write_file` / :func:`read_file` let any module write a
file under a workspace without knowing whether it is encrypted.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from shopmind.errors import WorkspaceError

#: Environment variables named in messages (read by :mod:`shopmind.config`, never here).
KEY_ENV = "SHOPMIND_WORKSPACE_KEY"
NEW_KEY_ENV = "SHOPMIND_NEW_WORKSPACE_KEY"

MARKER_FILENAME = "encryption.json"
MAGIC = b"SMENC1\x00"
LINE_PREFIX = "enc1:"
SALT_BYTES = 16
NONCE_BYTES = 12
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}

_lock = threading.Lock()
_keyring: dict[Path, str] = {}


def httpfs_extension() -> Path:
    """The ``httpfs`` extension file shipped in ``duckdb-extension-httpfs`` (OpenSSL for
    DuckDB's encryption)."""
    return _httpfs_extension()


@functools.cache
def _httpfs_extension() -> Path:
    try:
        import duckdb_extension_httpfs
    except ImportError as exc:
        raise _no_extension() from exc
    found = sorted(Path(duckdb_extension_httpfs.__file__).parent.rglob("*.duckdb_extension"))
    if not found:
        raise _no_extension()
    return found[0]


def _no_extension() -> WorkspaceError:
    return WorkspaceError(
        f"{KEY_ENV} is set but DuckDB's httpfs extension (needed to encrypt) is not installed.",
        hint="Install it with `pip install duckdb-extension-httpfs==<duckdb version>` "
        "(or `make demo`), or unset the variable for a plain workspace.",
    )


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def attach_sql(path: Path, alias: str, key: str | None, *, read_only: bool) -> str:
    """``ATTACH`` statement for a workspace database file (encrypted when ``key``)."""
    options = [f"ENCRYPTION_KEY {sql_string(key)}"] if key is not None else []
    # explicit, so that a file can be written from a read-only connection's instance too
    options.append("READ_ONLY" if read_only else "READ_WRITE")
    return f"ATTACH {sql_string(str(path))} AS {alias} ({', '.join(options)})"


# ---------------------------------------------------------------------------------------
# errors naming the variable
# ---------------------------------------------------------------------------------------


def missing_key_error(db_path: Path) -> WorkspaceError:
    return WorkspaceError(
        f"{db_path} is encrypted and {KEY_ENV} is not set.",
        hint=f"Set the workspace key: `export {KEY_ENV}=...` (the passphrase it was created "
        "with), then rerun.",
    )


def wrong_key_error(what: Path) -> WorkspaceError:
    return WorkspaceError(
        f"Wrong key: {KEY_ENV} does not open {what}.",
        hint=f"Set {KEY_ENV} to the passphrase this workspace was encrypted with (after "
        f"`shopmind rotate-key`, the new one).",
    )


def plain_with_key_error(db_path: Path) -> WorkspaceError:
    return WorkspaceError(
        f"{db_path} is not encrypted, but {KEY_ENV} is set.",
        hint=f"Encrypt it once with `{NEW_KEY_ENV}=<key> shopmind rotate-key` (run with "
        f"{KEY_ENV} unset), or unset {KEY_ENV} to use it as it is.",
    )


def translate(db_path: Path, text: str) -> WorkspaceError | None:
    """The key error DuckDB's message ``text`` stands for, else None."""
    lower = text.lower()
    if "encrypted database" in lower and "without a key" in lower:
        return missing_key_error(db_path)
    if "wrong encryption key" in lower:
        return wrong_key_error(db_path)
    if "is not encrypted" in lower and "key is explicitly specified" in lower:
        return plain_with_key_error(db_path)
    return None


# ---------------------------------------------------------------------------------------
# the file cipher
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _derive(passphrase: str, salt: bytes) -> bytes:
    """32-byte AES key from the passphrase (scrypt, ~50 ms; cached per process)."""
    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())


@dataclass(frozen=True)
class FileCipher:
    """AES-256-GCM with a scrypt-derived key; ``salt`` is the one used for new files."""

    passphrase: str
    salt: bytes

    def seal(self, data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = AESGCM(_derive(self.passphrase, self.salt)).encrypt(nonce, data, MAGIC)
        return MAGIC + self.salt + nonce + body

    def open(self, blob: bytes, what: Path | str = "data") -> bytes:
        """Plaintext of a sealed blob; a wrong key or a changed byte is a WorkspaceError."""
        head = len(MAGIC) + SALT_BYTES + NONCE_BYTES
        if not is_sealed(blob) or len(blob) < head + 16:
            raise WorkspaceError(
                f"{what} is not a complete encrypted shopmind file.",
                hint="Restore it from a backup (`shopmind restore FILE`).",
            )
        salt = blob[len(MAGIC) : len(MAGIC) + SALT_BYTES]
        nonce = blob[len(MAGIC) + SALT_BYTES : head]
        try:
            return AESGCM(_derive(self.passphrase, salt)).decrypt(nonce, blob[head:], MAGIC)
        except InvalidTag:
            raise WorkspaceError(
                f"Cannot decrypt {what}: {KEY_ENV} is not its key, or the file was changed.",
                hint=f"Set {KEY_ENV} to the passphrase this workspace was encrypted with; "
                "if the key is right the file is damaged: restore it from a backup.",
            ) from None

    def seal_line(self, text: str) -> str:
        return LINE_PREFIX + base64.b64encode(self.seal(text.encode())).decode("ascii")

    def open_line(self, line: str, what: Path | str = "line") -> str:
        if not line.startswith(LINE_PREFIX):
            return line
        return self.open(base64.b64decode(line[len(LINE_PREFIX) :]), what).decode()


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def sealable(relative: Path) -> bool:
    """Files an encrypted workspace writes sealed (path relative to the root): models,
    HTML reports and the simulator's sources. Used when a plain workspace becomes encrypted
    (``rotate-key``, restoring a plain backup with a key)."""
    parts = relative.parts
    return bool(parts) and (
        relative.suffix == ".pkl"
        or parts[0] == "raw"
        or (parts[0] == "reports" and relative.suffix == ".html")
    )


def new_cipher(passphrase: str) -> FileCipher:
    return FileCipher(passphrase, secrets.token_bytes(SALT_BYTES))


def marker_path(root: Path) -> Path:
    return root / MARKER_FILENAME


def is_encrypted(root: Path) -> bool:
    """Whether the workspace at ``root`` was created or turned encrypted (its marker)."""
    return marker_path(root).is_file()


def read_marker(root: Path) -> bytes | None:
    """The salt in the workspace's marker, or None without one."""
    try:
        info = json.loads(marker_path(root).read_text(encoding="utf-8"))
        return bytes.fromhex(info["salt"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkspaceError(
            f"{marker_path(root)} is damaged.",
            hint="Restore the workspace from a backup (`shopmind restore FILE`).",
        ) from exc


def write_marker(root: Path, cipher: FileCipher) -> None:
    """Write ``encryption.json`` (salt and KDF parameters; no secret) atomically."""
    info = {
        "format": 1,
        "database": "duckdb aes-gcm",
        "files": "aes-256-gcm",
        "kdf": {"name": "scrypt", **_SCRYPT},
        "salt": cipher.salt.hex(),
        "key_env": KEY_ENV,
    }
    path = marker_path(root)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def cipher_for(root: Path, passphrase: str, *, create: bool = True) -> FileCipher:
    """The file cipher of the workspace at ``root`` (its marker written when missing and
    ``create``)."""
    salt = read_marker(root)
    if salt is not None:
        return FileCipher(passphrase, salt)
    cipher = new_cipher(passphrase)
    if create:
        root.mkdir(parents=True, exist_ok=True)
        write_marker(root, cipher)
    return cipher


# ---------------------------------------------------------------------------------------
# which workspace a path belongs to
# ---------------------------------------------------------------------------------------


def remember(root: Path, passphrase: str) -> None:
    """Note the passphrase of the workspace at ``root`` for this process (a Workspace built
    with ``key=`` does this), so that files written under it are sealed."""
    with _lock:
        _keyring[root.resolve()] = passphrase


def forget(root: Path) -> None:
    with _lock:
        _keyring.pop(root.resolve(), None)


def _owner(path: Path) -> tuple[Path, str | None] | None:
    """The encrypted workspace holding ``path`` and its passphrase (None: not known here):
    the innermost one whose key this process holds, else the nearest folder above ``path``
    with the marker. The one rule for "inside an encrypted workspace" (sealed writes here,
    refused plain exports in the CLI: :func:`encrypted_root`)."""
    resolved = path.resolve()
    with _lock:
        known = [(root, key) for root, key in _keyring.items() if resolved.is_relative_to(root)]
    if known:
        return max(known, key=lambda rk: len(rk[0].parts))
    for parent in resolved.parents:
        if is_encrypted(parent):
            return parent, None
    return None


def encrypted_root(path: Path) -> Path | None:
    """The encrypted workspace folder that holds ``path``, or None outside every one."""
    owner = _owner(path)
    return None if owner is None else owner[0]


def cipher_of(path: Path) -> FileCipher | None:
    """The cipher for a file at ``path``: None outside encrypted workspaces; an encrypted
    workspace whose key this process lacks is a WorkspaceError naming the variable."""
    owner = _owner(path)
    if owner is None:
        return None
    root, passphrase = owner
    if passphrase is None:
        raise WorkspaceError(
            f"{root} is encrypted and {KEY_ENV} is not set (needed for {path.name}).",
            hint=f"Set the workspace key: `export {KEY_ENV}=...`, then rerun.",
        )
    return cipher_for(root, passphrase)


def write_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, sealed when ``path`` lies in an encrypted
    workspace."""
    cipher = cipher_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(cipher.seal(data) if cipher is not None else data)
    os.replace(tmp, path)
    return path


def read_file(path: Path) -> bytes:
    """The plaintext of a file written by :func:`write_file` (plain files as they are)."""
    blob = path.read_bytes()
    if not is_sealed(blob):
        if path.suffix == ".pkl" and cipher_of(path) is not None:
            # an encrypted workspace writes every pickle sealed: a plain one was put there by
            # someone without the key, and unpickling it would run their code
            raise WorkspaceError(
                f"{path} is not sealed although its workspace is encrypted; refusing to load it.",
                hint="Retrain the model (`shopmind ... train`) or restore it from a backup.",
            )
        return blob
    cipher = cipher_of(path)
    if cipher is None:
        raise WorkspaceError(
            f"{path} is encrypted and {KEY_ENV} is not set.",
            hint=f"Set the workspace key: `export {KEY_ENV}=...`, then rerun.",
        )
    return cipher.open(blob, path)


def seal_file(path: Path) -> None:
    """Seal a plaintext file in place when it lies in an encrypted workspace."""
    blob = path.read_bytes()
    if not is_sealed(blob) and cipher_of(path) is not None:
        write_file(path, blob)


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """A plaintext path of ``path`` for libraries that read only from files (netCDF, Parquet):
    the file itself when plain, else a decrypted copy in a private (0700) temporary folder,
    deleted on exit."""
    if not path.exists() or not is_sealed(path.read_bytes()[: len(MAGIC)]):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="shopmind-open-") as folder:
        plain = Path(folder) / path.name
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(read_file(path))
        yield plain
