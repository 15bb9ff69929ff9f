"""Key rotation: re-encrypt a workspace with a new ``SHOPMIND_WORKSPACE_KEY``, or encrypt a
plain one.

The database is copied into a new file encrypted with the new key (DuckDB's ``COPY FROM
DATABASE``, while this process holds the write lock), every sealed file is opened with the old
key and sealed with the new one (a new salt) into a temporary file beside it, then all are
swapped in with ``os.replace`` (the database first) and the marker last. Each swap is atomic;
the set is not: a crash in the middle of the swaps leaves some files under the old key (they
say so when read; rerun after restoring them from the backup you made first).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shopmind.errors import WorkspaceError
from shopmind.store import encryption
from shopmind.store.audit import JOURNAL_FILENAME, record
from shopmind.store.backup import PLAIN_PREFIXES, SKIP, snapshot
from shopmind.store.swap import keep_access, rewrite_database
from shopmind.store.workspace import DB_FILENAME, Workspace

SUFFIX = ".rotating"


def rotate(workspace: Workspace, new_key: str | None) -> dict[str, Any]:
    """Re-encrypt ``workspace`` (opened with its current key, None when plain) with
    ``new_key``; returns what was re-encrypted."""
    root = workspace.root
    if not new_key:
        raise WorkspaceError(
            f"{encryption.NEW_KEY_ENV} is not set: there is no new key to encrypt with.",
            hint=f"`export {encryption.NEW_KEY_ENV}=...` (a long random passphrase), keep "
            f"{encryption.KEY_ENV} at the current key (unset for a plain workspace), rerun.",
        )
    if new_key == workspace.key:
        raise WorkspaceError(
            f"{encryption.NEW_KEY_ENV} equals {encryption.KEY_ENV}: nothing would change.",
            hint=f"Choose a different {encryption.NEW_KEY_ENV}.",
        )
    if not workspace.exists():
        raise WorkspaceError(
            f"No workspace at {root} (missing {DB_FILENAME}).",
            hint="Point --workspace at the workspace to re-encrypt.",
        )
    if workspace.key is None and encryption.is_encrypted(root):
        raise encryption.missing_key_error(workspace.db_path)
    cipher = encryption.new_cipher(new_key)
    staged: list[tuple[Path, Path]] = []
    with workspace.connect() as con:  # the write lock: nobody writes while we copy and swap
        if workspace.key is None:
            con.execute(f"LOAD {encryption.sql_string(str(encryption.httpfs_extension()))}")
        try:
            with rewrite_database(workspace, con, SUFFIX) as rewrite:
                snapshot(con, rewrite.copy, new_key)
                staged = _stage_files(root, cipher)
        except BaseException:
            for _, tmp in staged:
                tmp.unlink(missing_ok=True)
            raise
        for sealed, tmp in staged:
            os.replace(tmp, sealed)
        encryption.write_marker(root, cipher)
        encryption.remember(root, new_key)
    rotated = Workspace(root, key=new_key)
    record(rotated, "rotate-key", "encrypted" if workspace.key is None else "re-encrypted")
    return {
        "workspace": str(root),
        "files": len(staged),
        "was_encrypted": workspace.key is not None,
    }


def _stage_files(root: Path, cipher: encryption.FileCipher) -> list[tuple[Path, Path]]:
    """Write every file's new sealed form beside it; (target, temporary file) pairs."""
    staged = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        name = rel.as_posix()
        if (
            not path.is_file()
            or path.is_symlink()
            or name in SKIP
            or name.startswith((f"{DB_FILENAME}.", *PLAIN_PREFIXES))
            or path.name.endswith((".tmp", SUFFIX))
        ):
            continue
        blob = path.read_bytes()
        if name == JOURNAL_FILENAME:
            lines = blob.decode("utf-8").splitlines()
            sealed = any(line.startswith(encryption.LINE_PREFIX) for line in lines)
            old = encryption.cipher_of(path) if sealed else None
            text = [old.open_line(line, name) if old else line for line in lines if line.strip()]
            data = "".join(cipher.seal_line(line) + "\n" for line in text).encode()
        elif encryption.is_sealed(blob):
            data = cipher.seal(encryption.read_file(path))
        elif encryption.sealable(rel) and not encryption.is_encrypted(root):
            data = cipher.seal(blob)  # a plain workspace turning encrypted
        else:
            continue
        tmp = path.with_name(path.name + SUFFIX)
        tmp.write_bytes(data)
        keep_access(tmp, path.stat())
        staged.append((path, tmp))
    return staged
