"""Identity tables (migration 8): evidence edges, user -> person, and the merge history.

``identity_edges``  one row per evidence edge between two stored user ids: ``kind`` login /
                    email / phone, ``evidence`` the keyed hash (or the links file's name),
                    ``used`` whether the linking accepted it and ``note`` why not.
``persons``         user_id -> person_id for ids linked to at least one other id; any other
                    id is its own person.
``identity_merges`` every merge (several persons became one) and split (evidence gone), with
                    the members before and after (JSON lists of groups), the reason and, once
                    undone, when and by whom; an undone merge keeps ``blocking`` true until a
                    forced re-link.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from shopmind.errors import ShopmindError

LINK_KINDS = ("login", "email", "phone")


class IdentityError(ShopmindError):
    """An identity request cannot be carried out as asked."""


@dataclass(frozen=True)
class Edge:
    """Evidence that two stored user ids are one person."""

    kind: str
    evidence: str
    id_a: str
    id_b: str
    source: str


@dataclass(frozen=True)
class MergeRecord:
    """One row of ``identity_merges`` (groups are sorted lists of user ids)."""

    merge_id: str
    action: str
    person_id: str | None
    before: list[list[str]]
    after: list[list[str]]
    reason: str
    forced: bool = False
    created_at: Any = None
    undone_at: Any = None
    undone_by: str | None = None
    blocking: bool = False

    def members(self) -> set[str]:
        """Every user id in the groups before and after."""
        return {u for group in (*self.before, *self.after) for u in group}

    def to_dict(self) -> dict[str, Any]:
        return {
            "merge_id": self.merge_id,
            "action": self.action,
            "created_at": str(self.created_at) if self.created_at is not None else None,
            "person_id": self.person_id,
            "members_before": self.before,
            "members_after": self.after,
            "reason": self.reason,
            "forced": self.forced,
            "undone_at": str(self.undone_at) if self.undone_at is not None else None,
            "undone_by": self.undone_by,
            "blocking": self.blocking,
        }


def add_login_edges(con: duckdb.DuckDBPyConnection, edges: Sequence[Edge]) -> int:
    """Store explicit login links (kept across re-links); returns the new ones."""
    if not edges:
        return 0
    before = _count(con, "SELECT count(*) FROM identity_edges WHERE kind = 'login'")
    rows = sorted({(e.id_a, e.id_b): (e.evidence, e.id_a, e.id_b, e.source) for e in edges}.items())
    _insert(
        con,
        "identity_edges",
        ["evidence", "id_a", "id_b", "source"],
        [r for _, r in rows],
        select="'login', evidence, id_a, id_b, source, true, NULL, now()",
        where="NOT EXISTS (SELECT 1 FROM identity_edges e WHERE e.kind = 'login' "
        "AND e.id_a = _identity_rows.id_a AND e.id_b = _identity_rows.id_b)",
    )
    return _count(con, "SELECT count(*) FROM identity_edges WHERE kind = 'login'") - before


def login_edges(con: duckdb.DuckDBPyConnection) -> list[Edge]:
    rows = con.execute(
        "SELECT evidence, id_a, id_b, source FROM identity_edges WHERE kind = 'login' "
        "ORDER BY id_a, id_b"
    ).fetchall()
    return [Edge("login", r[0], r[1], r[2], r[3]) for r in rows]


def replace_edges(
    con: duckdb.DuckDBPyConnection, edges: Sequence[tuple[Edge, bool, str | None]]
) -> None:
    """Rewrite every edge with its verdict (``used``, ``note``); login edges keep their time."""
    con.execute("DELETE FROM identity_edges WHERE kind <> 'login'")
    con.execute("UPDATE identity_edges SET used = true, note = NULL")
    rows = [(e.kind, e.evidence, e.id_a, e.id_b, e.source, u, n) for e, u, n in edges]
    value_rows = [r for r in rows if r[0] != "login"]
    if value_rows:
        names = ["kind", "evidence", "id_a", "id_b", "source", "used", "note"]
        _insert(con, "identity_edges", names, value_rows)
    refused = [[note, e.id_a, e.id_b] for e, used, note in edges if e.kind == "login" and not used]
    if refused:
        con.executemany(
            "UPDATE identity_edges SET used = false, note = ? "
            "WHERE kind = 'login' AND id_a = ? AND id_b = ?",
            refused,
        )


def read_persons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """user_id -> person_id of every linked id."""
    rows = con.execute("SELECT user_id, person_id FROM persons").fetchall()
    return {str(u): str(p) for u, p in rows}


def write_persons(con: duckdb.DuckDBPyConnection, persons: dict[str, str]) -> None:
    con.execute("DELETE FROM persons")
    if persons:
        _insert(con, "persons", ["user_id", "person_id"], list(persons.items()))


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    names: list[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    select: str | None = None,
    where: str = "true",
) -> None:
    """Bulk insert through Arrow (``executemany`` costs about a millisecond per row);
    ``select`` defaults to the names then ``now()``."""
    columns = list(zip(*rows, strict=True))
    data = pa.table({n: pa.array(list(c)) for n, c in zip(names, columns, strict=True)})
    con.register("_identity_rows", data)
    try:
        con.execute(
            f"INSERT INTO {table} SELECT {select or ', '.join([*names, 'now()'])} "
            f"FROM _identity_rows WHERE {where}"
        )
    finally:
        con.unregister("_identity_rows")


def next_merge_id(con: duckdb.DuckDBPyConnection) -> int:
    """The number of the next merge id (``m000001`` ...)."""
    rows = con.execute(
        "SELECT coalesce(max(CAST(substr(merge_id, 2) AS BIGINT)), 0) FROM identity_merges"
    ).fetchall()
    return int(rows[0][0]) + 1


def insert_merges(con: duckdb.DuckDBPyConnection, merges: Sequence[MergeRecord]) -> None:
    if merges:
        names = ["merge_id", "action", "person_id", "before", "after", "reason", "forced"]
        rows = [
            (
                m.merge_id,
                m.action,
                m.person_id,
                json.dumps(m.before),
                json.dumps(m.after),
                m.reason,
                m.forced,
            )
            for m in merges
        ]
        _insert(
            con,
            "identity_merges",
            names,
            rows,
            select="merge_id, action, now(), person_id, before::JSON, after::JSON, reason, "
            "forced, NULL, NULL, false",
        )


def read_merges(
    con: duckdb.DuckDBPyConnection,
    *,
    merge_id: str | None = None,
    blocking_only: bool = False,
    limit: int | None = None,
) -> list[MergeRecord]:
    """Merges newest first (one by id, or only those an undo still blocks)."""
    where, params = [], []
    if merge_id is not None:
        where.append("merge_id = ?")
        params.append(merge_id)
    if blocking_only:
        where.append("blocking")
    sql = (
        "SELECT merge_id, action, person_id, members_before, members_after, reason, forced, "
        "created_at, undone_at, undone_by, blocking FROM identity_merges"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY merge_id DESC"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    return [
        MergeRecord(
            merge_id=r[0],
            action=r[1],
            person_id=r[2],
            before=json.loads(r[3]),
            after=json.loads(r[4]),
            reason=r[5],
            forced=bool(r[6]),
            created_at=r[7],
            undone_at=r[8],
            undone_by=r[9],
            blocking=bool(r[10]),
        )
        for r in con.execute(sql, params).fetchall()
    ]


def mark_undone(con: duckdb.DuckDBPyConnection, merge_id: str, principal: str) -> None:
    con.execute(
        "UPDATE identity_merges SET undone_at = now(), undone_by = ?, blocking = true "
        "WHERE merge_id = ?",
        [principal, merge_id],
    )


def lift_blocks(con: duckdb.DuckDBPyConnection) -> int:
    """A forced re-link: undone merges no longer keep their groups apart."""
    n = _count(con, "SELECT count(*) FROM identity_merges WHERE blocking")
    con.execute("UPDATE identity_merges SET blocking = false WHERE blocking")
    return n


def edges_of(con: duckdb.DuckDBPyConnection, user_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every stored edge touching one of ``user_ids``."""
    cursor = con.execute(
        "SELECT kind, evidence, id_a, id_b, source, used, note FROM identity_edges "
        "WHERE id_a IN (SELECT unnest(?)) OR id_b IN (SELECT unnest(?)) "
        "ORDER BY kind, id_a, id_b",
        [list(user_ids), list(user_ids)],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def has_identity_tables(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'persons'"
    ).fetchall()
    return bool(rows[0][0])


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])
