"""The audit trail: an append-only, hash-chained ``audit_log`` table.

Every row stores ``hash = sha256(prev_hash + canonical(row))`` where ``canonical`` is the
compact JSON of ``[seq, ts (epoch microseconds), principal, role, action, target,
outcome]`` and the first row's ``prev_hash`` is 64 zeros. Editing a row breaks its hash,
deleting one breaks the next row's link and the ``seq`` run; the newest ``(seq, hash)``
is also kept in ``audit.head`` beside the database so that cutting off the newest rows is
seen too. :func:`record` is the one call a command makes to append an entry.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from shopmind.errors import WorkspaceError
from shopmind.store import encryption
from shopmind.store.migrations import migrate
from shopmind.store.workspace import Workspace

GENESIS = "0" * 64
HEAD_FILENAME = "audit.head"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TEXT = 300  # characters kept of a principal, action or target


@dataclass(frozen=True)
class AuditEntry:
    """One audited act: who (principal, role) did what (action) to what (target), and how it
    ended (outcome: an HTTP status, 'ok', 'error', 'denied')."""

    principal: str
    role: str | None
    action: str
    target: str | None
    outcome: str
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))


def _clip(value: str | None) -> str | None:
    return None if value is None else value[:MAX_TEXT]


def epoch_us(ts: datetime) -> int:
    return (ts - _EPOCH) // timedelta(microseconds=1)


def canonical(seq: int, ts_us: int, e: dict[str, Any]) -> str:
    values = [seq, ts_us, e["principal"], e["role"], e["action"], e["target"], e["outcome"]]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def link(prev_hash: str, row_canonical: str) -> str:
    return hashlib.sha256((prev_hash + row_canonical).encode()).hexdigest()


def head_path(workspace: Workspace) -> Path:
    return workspace.root / HEAD_FILENAME


def read_head(head: Path | None) -> tuple[int, str] | None:
    """The ``(seq, hash)`` remembered in ``audit.head``; None when there is none yet. A head
    that cannot be read is ``(-1, "")``: writers then continue from the table, and
    ``verify`` reports it."""
    if head is None or not head.exists():
        return None
    try:
        stored = json.loads(head.read_text())
        return int(stored["seq"]), str(stored["hash"])
    except (ValueError, KeyError, TypeError):
        return -1, ""


class AuditChain:
    """Appends entries on one write connection, continuing the stored chain.

    Only one process writes a workspace at a time (DuckDB's lock), so the chain read at start
    stays the tail while this object is used. Call :meth:`append` inside the caller's
    transaction and :meth:`commit_head` after it commits.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, head: Path) -> None:
        self.head = head
        rows = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchall()
        self.seq, self.hash = (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)
        remembered = read_head(head)
        if remembered is not None and (
            remembered[0] > self.seq or (remembered[0] == self.seq and remembered[1] != self.hash)
        ):
            # The newest rows were cut off (or replaced) since the head was written: continue
            # after the head, so the gap stays in the chain itself for `verify` to show,
            # instead of re-basing on the shortened table and rewriting the head over it.
            self.seq, self.hash = remembered
        self._committed = (self.seq, self.hash)

    def append(self, con: duckdb.DuckDBPyConnection, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        columns: dict[str, list[Any]] = {
            k: [] for k in ("seq", "ts", "principal", "role", "action", "target", "outcome")
        }
        columns["prev_hash"], columns["hash"] = [], []
        seq, prev = self.seq, self.hash
        for entry in entries:
            seq += 1
            ts = entry.ts.astimezone(UTC)
            row = {
                "principal": _clip(entry.principal) or "-",
                "role": _clip(entry.role),
                "action": _clip(entry.action) or "-",
                "target": _clip(entry.target),
                "outcome": _clip(entry.outcome) or "-",
            }
            digest = link(prev, canonical(seq, epoch_us(ts), row))
            for name, value in (("seq", seq), ("ts", ts), *row.items()):
                columns[name].append(value)
            columns["prev_hash"].append(prev)
            columns["hash"].append(digest)
            prev = digest
        batch = pa.table(
            {
                **{k: v for k, v in columns.items() if k != "ts"},
                "ts": pa.array(columns["ts"], type=pa.timestamp("us", tz="UTC")),
            }
        )
        con.register("_audit_batch", batch)
        try:
            con.execute(
                "INSERT INTO audit_log SELECT seq, ts, principal, role, action, target, outcome, "
                "prev_hash, hash FROM _audit_batch"
            )
        finally:
            con.unregister("_audit_batch")
        self.seq, self.hash = seq, prev

    def rollback(self) -> None:
        """Forget appends of a transaction that was rolled back."""
        self.seq, self.hash = self._committed

    def commit_head(self) -> None:
        """Remember the committed tail in ``audit.head`` (written atomically)."""
        self._committed = (self.seq, self.hash)
        tmp = self.head.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": self.seq, "hash": self.hash}))
        os.replace(tmp, self.head)


T = TypeVar("T")


@contextmanager
def audited_transaction(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    keep_on: tuple[type[BaseException], ...] = (),
) -> Iterator[AuditChain]:
    """One transaction on ``con`` (a write connection) with the audit chain to append to:
    the work and its entries commit together or not at all, and the chain's head is written
    after the commit. An exception of a ``keep_on`` type (a refusal that must stay in the
    trail) commits what was appended before it is raised again."""
    con.execute("BEGIN TRANSACTION")
    chain = AuditChain(con, head_path(workspace))
    try:
        yield chain
        con.execute("COMMIT")
    except keep_on:
        con.execute("COMMIT")
        chain.commit_head()
        raise
    except BaseException:
        con.execute("ROLLBACK")
        chain.rollback()
        raise
    chain.commit_head()


def audited_call(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    entry: AuditEntry,
    work: Callable[[duckdb.DuckDBPyConnection], T],
) -> T:
    """``work(con)`` and its audit ``entry`` in one transaction on ``con`` (a write
    connection): both commit or neither; the chain's head is written after the commit."""
    with audited_transaction(con, workspace) as chain:
        result = work(con)
        chain.append(con, [entry])
    return result


def cli_principal() -> str:
    """Who runs a CLI command: ``cli:<operating-system user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def record(
    workspace: Workspace,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    *,
    principal: str | None = None,
    role: str | None = "local",
) -> None:
    """Append one entry for a command that read personal data or changed data (and chain
    the journal's pending entries first).

    Opens the workspace for writing; a command should call it once, after its work.
    """
    workspace.init()
    with workspace.connect() as con:
        migrate(con)
        fold(
            con,
            workspace,
            [AuditEntry(principal or cli_principal(), role, action, target, outcome)],
        )


# ---------------------------------------------------------------------------------------
# the journal: entries of commands that only read, chained by the next write
# ---------------------------------------------------------------------------------------

JOURNAL_FILENAME = "audit.journal"


def journal_path(workspace: Workspace) -> Path:
    return workspace.root / JOURNAL_FILENAME


@contextmanager
def _locked_journal(workspace: Workspace) -> Iterator[Any]:
    path = journal_path(workspace)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def journal(
    workspace: Workspace,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    *,
    principal: str | None = None,
    role: str | None = "local",
) -> None:
    """Record an entry without the workspace's write lock (for commands that only read, so
    that concurrent readers never collide): one line appended to ``audit.journal``, moved
    into the hash chain by the next :func:`record`, ``audit show`` or service start."""
    entry = AuditEntry(principal or cli_principal(), role, action, target, outcome)
    line = json.dumps({**asdict(entry), "ts": epoch_us(entry.ts)}, ensure_ascii=False)
    cipher = encryption.cipher_of(journal_path(workspace))
    if cipher is not None:  # an encrypted workspace: one sealed line per entry
        line = cipher.seal_line(line)
    with _locked_journal(workspace) as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def pending(workspace: Workspace) -> int:
    """Entries waiting in the journal."""
    path = journal_path(workspace)
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def _journal_entries(handle: Any, workspace: Workspace) -> list[AuditEntry]:
    handle.seek(0)
    entries = []
    lines = handle.read().splitlines()
    sealed = any(line.startswith(encryption.LINE_PREFIX) for line in lines)
    cipher = encryption.cipher_of(journal_path(workspace)) if sealed else None
    for line in lines:
        if not line.strip():
            continue
        try:
            if cipher is not None:
                line = cipher.open_line(line, JOURNAL_FILENAME)
            row = json.loads(line)
            ts = _EPOCH + timedelta(microseconds=int(row.pop("ts")))
            entries.append(AuditEntry(**row, ts=ts))
        except (ValueError, TypeError, KeyError, WorkspaceError):  # torn or edited: kept visible
            entries.append(AuditEntry("-", None, "audit journal", line[:MAX_TEXT], "unreadable"))
    return entries


def fold(
    con: duckdb.DuckDBPyConnection, workspace: Workspace, entries: Sequence[AuditEntry] = ()
) -> int:
    """In one transaction on ``con`` (a write connection): chain the journal's entries (in
    time order; ones already chained by an interrupted earlier fold are skipped), then
    ``entries``; empty the journal after the commit. Returns the journal entries chained."""
    journaled = journal_path(workspace).exists()
    with _locked_journal(workspace) if journaled else nullcontext() as handle:
        waiting = (
            sorted(_journal_entries(handle, workspace), key=lambda e: e.ts) if journaled else []
        )
        if waiting:
            start = waiting[0].ts
            done = set(
                con.execute(
                    "SELECT epoch_us(ts), principal, action FROM audit_log WHERE ts >= ?", [start]
                ).fetchall()
            )
            waiting = [e for e in waiting if (epoch_us(e.ts), e.principal, e.action) not in done]
        if not waiting and not entries:
            return 0
        with audited_transaction(con, workspace) as chain:
            chain.append(con, [*waiting, *entries])
        if handle is not None:
            handle.truncate(0)
    return len(waiting)


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int | None
    problems: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(con: duckdb.DuckDBPyConnection, head: Path | None = None) -> VerifyReport:
    """Recompute the chain; every edited, deleted, reordered or cut-off entry is a problem.
    The head is read before the rows: a writer commits its rows before it moves the head, so
    a head never names a row this read cannot see yet."""
    remembered = read_head(head)
    rows = con.execute(
        "SELECT seq, epoch_us(ts), principal, role, action, target, outcome, prev_hash, hash "
        "FROM audit_log ORDER BY seq"
    ).fetchall()
    problems: list[dict[str, Any]] = []
    prev, expected_seq = GENESIS, 1
    for seq, ts_us, principal, role, action, target, outcome, prev_hash, digest in rows:
        entry = {
            "principal": principal,
            "role": role,
            "action": action,
            "target": target,
            "outcome": outcome,
        }
        if seq != expected_seq:
            problems.append(
                {"seq": seq, "problem": f"expected entry {expected_seq}: entries missing"}
            )
        if prev_hash != prev:
            problems.append({"seq": seq, "problem": "link to the previous entry broken"})
        if link(prev_hash, canonical(seq, ts_us, entry)) != digest:
            problems.append({"seq": seq, "problem": "entry changed after it was written"})
        prev, expected_seq = digest, seq + 1
        if len(problems) >= 100:
            break
    head_seq = None
    if remembered is not None:
        head_seq, head_hash = remembered
        last_seq = rows[-1][0] if rows else 0
        if head_seq < 0:
            head_seq = None
            problems.append({"seq": 0, "problem": "audit.head cannot be read"})
        elif head_seq > last_seq:
            problems.append(
                {"seq": head_seq, "problem": f"entries {last_seq + 1}..{head_seq} deleted"}
            )
        elif head_seq and not any(r[0] == head_seq and r[8] == head_hash for r in rows):
            problems.append({"seq": head_seq, "problem": "entry named by audit.head changed"})
    return VerifyReport(not problems, len(rows), head_seq, problems)


def show(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    principal: str | None = None,
    action: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest entries first, filtered; ``action`` matches as a substring."""
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if since is not None:
        where.append("ts >= ?")
        params.append(since)
    if principal is not None:
        where.append("principal = ?")
        params.append(principal)
    if action is not None:
        where.append("contains(action, ?)")
        params.append(action)
    cursor = con.execute(
        "SELECT seq, ts, principal, role, action, target, outcome FROM audit_log "
        f"WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
