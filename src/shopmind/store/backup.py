"""Backup and restore of a whole workspace: one checksummed file.

Layout of a backup file::

    b"SHOPMIND-BACKUP 1\\n" | header (one JSON line) | payload

The header holds ``payload_bytes`` and ``payload_sha256`` (a truncated or changed file is
refused before anything is read from it) and ``encrypted``. The payload is a tar archive, sealed
with the workspace's file cipher (AES-256-GCM, scrypt key from ``SHOPMIND_WORKSPACE_KEY``)
when the workspace is encrypted. The archive holds ``manifest.json`` (SHA-256, size and kind of
every member, row counts of every table), ``shopmind.duckdb`` (a consistent snapshot: DuckDB's
``COPY FROM DATABASE`` inside one read transaction; encrypted with the same key when the
workspace is) and ``files/...``: models, reports, the audit journal and head and the
pseudonymisation key file, decrypted inside the sealed archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from shopmind.errors import WorkspaceError
from shopmind.store import encryption
from shopmind.store.audit import HEAD_FILENAME, JOURNAL_FILENAME
from shopmind.store.migrations import current_version
from shopmind.store.workspace import (
    CATALOG,
    DB_FILENAME,
    Workspace,
    attach_encrypted,
    open_error,
)

MAGIC = b"SHOPMIND-BACKUP 1\n"
MANIFEST = "manifest.json"
SNAPSHOT = "shopmind.duckdb"
#: Not backed up: the live database (a snapshot goes instead), the service's note, the
#: encryption marker (a restore writes its own salt).
SKIP = {DB_FILENAME, f"{DB_FILENAME}.wal", "serve.json", encryption.MARKER_FILENAME}
#: Copies of the database left by an interrupted rewrite (compact, rotate-key): never backed up.
PARTIAL_SUFFIXES = (".compacting", ".compacting.wal", ".rotating", ".rotating.wal")
#: Files kept as they are even in an encrypted workspace (no personal data, or read by code
#: that expects plain bytes: the pseudonymisation key file is secret, not personal).
PLAIN_PREFIXES = (HEAD_FILENAME, "keys/")


@dataclass(frozen=True)
class Member:
    """One file of the backup: where it goes, its plaintext and how it is stored."""

    path: str  # relative to the workspace root
    data: bytes
    kind: str  # "file" (sealed in an encrypted workspace), "plain", "journal"
    sealed: bool  # sealed in the workspace it came from
    mode: int


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(
    con: duckdb.DuckDBPyConnection, out: Path, key: str | None
) -> tuple[dict[str, int], int]:
    """Copy the database ``con`` reads (catalog ``shopmind``) to a new file ``out`` in one
    transaction (encrypted with ``key`` when given); returns the row count of every table
    and the schema version, seen by the same transaction. Works on a read-only connection
    and on the service's write connection alike."""
    alias = f"snapshot_{secrets.token_hex(4)}"
    con.execute(encryption.attach_sql(out, alias, key, read_only=False))
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            counts = table_counts(con)
            version = current_version(con)
            con.execute(f"COPY FROM DATABASE shopmind TO {alias}")
        finally:
            con.execute("COMMIT")
    finally:
        con.execute(f"DETACH {alias}")
    return counts, version


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "ORDER BY table_name"
        ).fetchall()
    ]
    counts = {}
    for name in names:
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def _members(workspace: Workspace) -> list[Member]:
    members = []
    for path in sorted(workspace.root.rglob("*")):
        rel = path.relative_to(workspace.root).as_posix()
        if (
            not path.is_file()
            or path.is_symlink()
            or rel in SKIP
            or rel.startswith(f"{DB_FILENAME}.tmp/")
            or path.name.endswith((".tmp", *PARTIAL_SUFFIXES))
        ):
            continue
        blob = path.read_bytes()
        sealed = encryption.is_sealed(blob)
        mode = path.stat().st_mode & 0o777
        if rel == JOURNAL_FILENAME:
            lines = blob.decode("utf-8").splitlines()
            cipher = (
                encryption.cipher_of(path)
                if any(line.startswith(encryption.LINE_PREFIX) for line in lines)
                else None
            )
            text = "".join(
                (_open_line(cipher, line, rel) if cipher else line) + "\n" for line in lines
            )
            members.append(Member(rel, text.encode(), "journal", cipher is not None, mode))
        elif rel.startswith(PLAIN_PREFIXES):
            members.append(Member(rel, blob, "plain", False, mode))
        else:
            data = encryption.read_file(path) if sealed else blob
            members.append(Member(rel, data, "file", sealed, mode))
    return members


def _open_line(cipher: encryption.FileCipher, line: str, rel: str) -> str:
    """A journal line in clear; one this key cannot open (torn, or sealed by a process with
    another key) is kept as it is, as the journal's reader keeps it: an "unreadable"
    entry in the audit trail, never a backup refused."""
    try:
        return cipher.open_line(line, rel)
    except (WorkspaceError, ValueError):  # ValueError: binascii.Error of a cut-short line
        return line


def create_backup(
    workspace: Workspace, out: Path, *, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Any]:
    """Write a backup of ``workspace`` to ``out`` (mode 0600); ``con``: an open connection
    to snapshot through (the service's), else a read-only one is opened."""
    if not workspace.exists():
        raise WorkspaceError(
            f"No workspace at {workspace.root} (missing {DB_FILENAME}).",
            hint="Point --workspace at the workspace to back up.",
        )
    out = out.resolve()
    if out.is_relative_to(workspace.root.resolve()):
        raise WorkspaceError(
            f"{out} lies inside the workspace it backs up.",
            hint="Write the backup outside the workspace, e.g. `--out ../shop.backup`.",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="shopmind-snapshot-", dir=out.parent))  # 0700
    scratch = private / "snapshot.duckdb"
    try:
        if con is not None:
            con.execute(f"USE {CATALOG}")
            counts, version = snapshot(con, scratch, workspace.key)
        else:
            with workspace.connect(read_only=True) as own:
                counts, version = snapshot(own, scratch, workspace.key)
        db = scratch.read_bytes()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    members = _members(workspace)
    manifest = {
        "format": 1,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": version,
        "encrypted": workspace.encrypted,
        "tables": counts,
        "database": {"sha256": _sha(db), "bytes": len(db)},
        "files": {
            m.path: {
                "sha256": _sha(m.data),
                "bytes": len(m.data),
                "kind": m.kind,
                "sealed": m.sealed,
                "mode": m.mode,
            }
            for m in members
        },
    }
    payload = _tar(
        [(MANIFEST, json.dumps(manifest, indent=1).encode()), (SNAPSHOT, db)]
        + [(f"files/{m.path}", m.data) for m in members]
    )
    if workspace.key is not None:
        payload = encryption.cipher_for(workspace.root, workspace.key).seal(payload)
    header = {
        "format": 1,
        "encrypted": workspace.encrypted,
        "payload_bytes": len(payload),
        "payload_sha256": _sha(payload),
    }
    tmp = out.with_name(f".{out.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(MAGIC + json.dumps(header).encode() + b"\n" + payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, out)
    return {
        "out": str(out),
        "bytes": out.stat().st_size,
        "sha256": header["payload_sha256"],
        "encrypted": workspace.encrypted,
        "tables": counts,
        "files": len(members),
    }


def _tar(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# reading a backup
# ---------------------------------------------------------------------------------------


def _damaged(path: Path, why: str) -> WorkspaceError:
    return WorkspaceError(
        f"Backup {path} is damaged: {why}; nothing was restored.",
        hint="Use another copy of the backup (each backup file carries a SHA-256 of its "
        "contents; this one does not match).",
    )


def check_file(path: Path) -> dict[str, Any]:
    """The header of a backup file whose size and SHA-256 match it (no key needed)."""
    return _verified(path)[0]


def _verified(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise WorkspaceError(
            f"Cannot read backup {path}: {exc.strerror or exc}.",
            hint="Check the path given to `shopmind restore`.",
        ) from exc
    if not blob.startswith(MAGIC):
        raise WorkspaceError(
            f"{path} is not a shopmind backup.",
            hint="Restore a file written by `shopmind backup --out FILE`.",
        )
    end = blob.find(b"\n", len(MAGIC))
    try:
        header = json.loads(blob[len(MAGIC) : end])
        size, digest = int(header["payload_bytes"]), str(header["payload_sha256"])
        header["encrypted"] = bool(header["encrypted"])
    except (ValueError, KeyError, TypeError):
        raise _damaged(path, "its header is unreadable") from None
    payload = blob[end + 1 :]
    if len(payload) != size:
        raise _damaged(path, f"{len(payload):,} of {size:,} payload bytes (truncated?)")
    if _sha(payload) != digest:
        raise _damaged(path, "the SHA-256 checksum does not match")
    return header, payload


def read_backup(path: Path, key: str | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the members of a backup, every checksum verified."""
    header, payload = _verified(path)
    if header["encrypted"]:
        if key is None:
            raise WorkspaceError(
                f"Backup {path} is encrypted and {encryption.KEY_ENV} is not set.",
                hint=f"Set {encryption.KEY_ENV} to the key of the workspace it was made from.",
            )
        payload = encryption.FileCipher(key, b"").open(payload, path)
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as tar:
            members = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
        manifest = json.loads(members.pop(MANIFEST))
    except (tarfile.TarError, KeyError, ValueError):
        raise _damaged(path, "its archive is unreadable") from None
    expected = {SNAPSHOT: manifest["database"]} | {
        f"files/{name}": entry for name, entry in manifest["files"].items()
    }
    for name, entry in expected.items():
        data = members.get(name)
        if data is None or _sha(data) != entry["sha256"]:
            raise _damaged(path, f"{name} is missing or does not match its checksum")
    return manifest, members


def _safe(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()) or target == root.resolve():
        raise WorkspaceError(
            f"Backup member {relative!r} points outside the workspace; nothing was restored.",
            hint="Restore only backups written by `shopmind backup`.",
        )
    return target


def restore_backup(path: Path, workspace: Workspace) -> dict[str, Any]:
    """Restore the backup at ``path`` into ``workspace`` (new or an empty directory); the
    restored workspace is encrypted when ``workspace.key`` is set."""
    root = workspace.root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WorkspaceError(
            f"{root} is not empty; restore writes only into a new or empty workspace.",
            hint="Choose another --workspace (a new directory), or empty this one first.",
        )
    manifest, members = read_backup(path, workspace.key)
    staging = root.parent / f".{root.name}.restoring-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        result = _fill(staging, manifest, members, workspace.key)
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        encryption.forget(staging)
    return {"workspace": str(root), "backup": str(path), **result}


def _fill(
    staging: Path, manifest: dict[str, Any], members: dict[str, bytes], key: str | None
) -> dict[str, Any]:
    cipher = encryption.cipher_for(staging, key) if key is not None else None
    if key is not None:
        encryption.remember(staging, key)
    db_path = staging / DB_FILENAME
    if bool(manifest["encrypted"]) == (key is not None):
        db_path.write_bytes(members[SNAPSHOT])  # same key, or plain to plain
    else:  # a plain backup restored with a key: copy into an encrypted database
        plain = staging / "plain-snapshot.duckdb"
        plain.write_bytes(members[SNAPSHOT])
        con = duckdb.connect(":memory:")
        try:
            attach_encrypted(con, plain, "shopmind", None, read_only=True)
            con.execute(f"LOAD {encryption.sql_string(str(encryption.httpfs_extension()))}")
            snapshot(con, db_path, key)
        except duckdb.Error as exc:
            raise open_error(db_path, exc, read_only=False) from exc
        finally:
            con.close()
        plain.unlink()
    for name, entry in manifest["files"].items():
        target = _safe(staging, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = members[f"files/{name}"]
        seal = cipher is not None and (
            entry["sealed"] if manifest["encrypted"] else encryption.sealable(Path(name))
        )
        if entry["kind"] == "journal" and seal and cipher is not None:
            lines = data.decode().splitlines()
            data = "".join(cipher.seal_line(line) + "\n" for line in lines).encode()
        elif entry["kind"] == "file" and seal and cipher is not None:
            data = cipher.seal(data)
        target.write_bytes(data)
        os.chmod(target, int(entry.get("mode", 0o600)) & 0o666)  # never setuid / executable
    if (staging / "keys").is_dir():
        os.chmod(staging / "keys", 0o700)
    check = Workspace(staging, key=key)
    with check.connect(read_only=True) as con:
        counts = table_counts(con)
    if counts != manifest["tables"]:
        raise WorkspaceError(
            "The restored database does not hold the rows the backup lists; nothing was restored.",
            hint="Use another copy of the backup.",
        )
    return {
        "tables": counts,
        "files": len(manifest["files"]),
        "encrypted": key is not None,
        "created": manifest["created"],
    }
