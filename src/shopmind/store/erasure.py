"""Where one user's data lives in a workspace, and the erasure request (``shopmind forget``).

Tables are found through ``information_schema``, so tables added later are covered without
a list to maintain. A row belongs to the user when

* a user column (:data:`USER_COLUMNS`, e.g. ``user_id``, ``person_id``) holds the stored id;
* a typed pair (``subject_type``/``subject_id``, ``entity``/``entity_id``) names the user,
  or names an order of the user;
* an owned key (:data:`OWNED_KEYS`: ``order_id``, ``conversation_id``, ``ticket_id``) is one
  the user's rows carry (order lines, chat messages, labels of the user's orders);
* a quarantined record's protected copy holds the user's key (the pseudonym anywhere in it,
  or a plain id under a user-like field name).

Rows of other people that mention the user inside a JSON column (e.g. the members lists of
``identity_merges``) are kept with the id replaced by ``"[erased]"`` (:func:`scrub_json`;
only for distinctive ids: pseudonyms or ids of 8+ characters, so that a short plain id
never rewrites an unrelated value).

The audit trail and the request log are kept (they never hold a raw id; see docs/privacy.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from shopmind.errors import ShopmindError
from shopmind.privacy import is_pseudonym, pseudonymize

#: Columns that hold a (stored) user id.
USER_COLUMNS = frozenset(
    {
        "user_id",
        "person_id",
        "customer_id",
        "member_id",
        "buyer_id",
        "account_id",
        "visitor_id",
        "id_a",  # identity_edges: an evidence edge between two user ids
        "id_b",
    }
)
#: (type column, id column) pairs; the type values that mean "a user".
TYPED_PAIRS = (
    ("subject_type", "subject_id"),
    ("entity", "entity_id"),
    ("entity_type", "entity_id"),
)
USER_TYPES = ("user", "users", "customer", "person", "account")
#: Keys of things a user owns: rows carrying one of the user's keys are the user's too.
OWNED_KEYS = ("order_id", "conversation_id", "ticket_id")
#: Tables kept on erasure: append-only records that hold no raw id.
KEPT_TABLES = frozenset({"audit_log", "privacy_requests", "schema_migrations"})
#: Field names (lower-cased, separators removed) of a quarantined record holding a user id.
RAW_USER_FIELDS = frozenset(
    {
        "userid",
        "user",
        "uid",
        "customerid",
        "customer",
        "visitorid",
        "memberid",
        "buyerid",
        "accountid",
        "personid",
        "clientid",
    }
)


class PrivacyRequestError(ShopmindError):
    """A personal-data request cannot be carried out as asked."""


@dataclass
class Selection:
    """One table's rows of the user: ``WHERE`` text and its parameters."""

    table: str
    where: str
    params: list[Any] = field(default_factory=list)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Base tables of the workspace database (main schema) -> column names."""
    rows = con.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_catalog = c.table_catalog "
        "AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = 'main' AND c.table_catalog = current_database() "
        "AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(str(table), []).append(str(column))
    return tables


def _user_predicates(columns: list[str]) -> list[str]:
    """Predicates (with one ``?`` each, the stored id) naming the user directly."""
    found = [f"CAST({_ident(c)} AS VARCHAR) = ?" for c in columns if c in USER_COLUMNS]
    types = ", ".join(f"'{t}'" for t in USER_TYPES)
    for kind, key in TYPED_PAIRS:
        if kind in columns and key in columns and key not in USER_COLUMNS:
            found.append(
                f"(lower(CAST({_ident(kind)} AS VARCHAR)) IN ({types}) "
                f"AND CAST({_ident(key)} AS VARCHAR) = ?)"
            )
    return found


def user_exists(con: duckdb.DuckDBPyConnection, stored_id: str) -> bool:
    """Whether any table names ``stored_id`` as a user."""
    for table, columns in table_columns(con).items():
        if table in KEPT_TABLES:
            continue
        predicates = _user_predicates(columns)
        if not predicates:
            continue
        sql = f"SELECT EXISTS (SELECT 1 FROM {_ident(table)} WHERE {' OR '.join(predicates)})"
        row = con.execute(sql, [stored_id] * len(predicates)).fetchone()
        if row and row[0]:
            return True
    return False


def resolve_user(con: duckdb.DuckDBPyConnection, given: str, key: bytes | None) -> str:
    """The stored id of ``given``: its pseudonym under ``key`` when the workspace holds it,
    else ``given`` itself (a pseudonym, or a plain id loaded with ``--pseudonymize off``)."""
    variants = [given]
    if re.fullmatch(r"\d+\.0+", given.strip()):  # 17850.0: a numeric id read as a float
        variants.append(given.strip().split(".")[0])
    candidates = [pseudonymize(v, key) for v in variants if key] + variants
    for candidate in candidates:
        if user_exists(con, candidate):
            return candidate
    for candidate in candidates:  # a user whose every row was quarantined
        if _quarantine_rowids(con, [candidate]):
            return candidate
    raise PrivacyRequestError(
        f"No user '{given}' in this workspace (looked for it as ingested"
        f"{' and as its pseudonym' if key else ''}).",
        hint="Pass the id as it was in the loaded file (or its stored pseudonym); with a "
        "per-workspace or SHOPMIND_PSEUDONYMIZE_KEY key, use the same key as at ingest. "
        'List ids with `shopmind sql "SELECT user_id FROM users LIMIT 5"`.',
    )


def ids_are_pseudonyms(con: duckdb.DuckDBPyConnection) -> bool | None:
    """Whether the workspace stores people under pseudonyms: its latest load's choice
    (``--pseudonymize on/off``); None before any load."""
    row = con.execute(
        "SELECT pseudonymized FROM ingestions ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    return None if row is None else bool(row[0])


def stored_id_for(con: duckdb.DuckDBPyConnection, given: str, key: bytes | None) -> str:
    """The id to store for a person named ``given`` (e.g. a new conversation's customer):
    the stored id when the workspace knows them (:func:`resolve_user`); for someone new, the
    id the workspace's loads would store - ``given`` where ids are kept as loaded, else the
    pseudonym under ``key``. A raw id never reaches a pseudonymised workspace: without the
    key that is refused."""
    try:
        return resolve_user(con, given, key)
    except PrivacyRequestError:
        pass
    if ids_are_pseudonyms(con) is False:
        return given  # loaded with --pseudonymize off: the same person, the same id
    if key is None:
        raise PrivacyRequestError(
            f"'{given}' is not stored here yet, and this workspace keeps pseudonyms: without "
            "the pseudonymisation key the id cannot be stored.",
            hint="Set SHOPMIND_PSEUDONYMIZE_KEY (the key the data was loaded with).",
        )
    return pseudonymize(given, key)


def _owned(
    con: duckdb.DuckDBPyConnection, tables: dict[str, list[str]], stored_id: str
) -> dict[str, list[str]]:
    """Owned key name -> the user's values (orders, conversations, tickets)."""
    owned: dict[str, set[str]] = {key: set() for key in OWNED_KEYS}
    for table, columns in tables.items():
        predicates = _user_predicates(columns)
        if table in KEPT_TABLES or not predicates:
            continue
        for key in OWNED_KEYS:
            if key in columns:
                rows = con.execute(
                    f"SELECT DISTINCT CAST({_ident(key)} AS VARCHAR) FROM {_ident(table)} "
                    f"WHERE ({' OR '.join(predicates)}) AND {_ident(key)} IS NOT NULL",
                    [stored_id] * len(predicates),
                ).fetchall()
                owned[key].update(str(r[0]) for r in rows)
    return {k: sorted(v) for k, v in owned.items()}


def _quarantine_rowids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[int]:
    """Quarantined records holding the user's key (see the module docstring)."""
    found: set[int] = set()
    for value in ids:
        rows = con.execute(
            "SELECT rowid, raw FROM quarantine WHERE contains(raw, ?)", [value]
        ).fetchall()
        for rowid, raw in rows:
            if is_pseudonym(value) or _names_user(str(raw), value):
                found.add(int(rowid))
    return sorted(found)


def _names_user(raw: str, value: str) -> bool:
    try:
        record = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(record, dict):
        return False
    return any(
        re.sub(r"[^a-z0-9]", "", str(k).lower()) in RAW_USER_FIELDS
        and re.sub(r"^(\d+)\.0+$", r"\1", str(v).strip()) == value  # 17850.0 is 17850
        for k, v in record.items()
    )


def selections(
    con: duckdb.DuckDBPyConnection, stored_id: str, *, raw_id: str | None = None
) -> list[Selection]:
    """Every table's rows of the user (tables without any are left out)."""
    tables = table_columns(con)
    owned = _owned(con, tables, stored_id)
    out: list[Selection] = []
    for table, columns in tables.items():
        if table in KEPT_TABLES:
            continue
        predicates = _user_predicates(columns)
        params: list[Any] = [stored_id] * len(predicates)
        # a row reached through the user's order / conversation / ticket ids must not belong
        # to another user (two sources may reuse an order number)
        user_columns = [c for c in columns if c in USER_COLUMNS]
        guard = "".join(
            f" AND ({_ident(c)} IS NULL OR CAST({_ident(c)} AS VARCHAR) = ?)" for c in user_columns
        )
        for key, values in owned.items():
            if key in columns and values:
                predicates.append(f"(CAST({_ident(key)} AS VARCHAR) IN (SELECT unnest(?)){guard})")
                params.extend([values, *[stored_id] * len(user_columns)])
        orders = owned["order_id"]
        for kind, key in TYPED_PAIRS:
            if kind in columns and key in columns and orders:
                predicates.append(
                    f"(lower(CAST({_ident(kind)} AS VARCHAR)) = 'order' "
                    f"AND CAST({_ident(key)} AS VARCHAR) IN (SELECT unnest(?)))"
                )
                params.append(orders)
        if table == "quarantine" and "raw" in columns:
            ids = [stored_id] + ([raw_id] if raw_id and raw_id != stored_id else [])
            rowids = _quarantine_rowids(con, ids)
            if rowids:
                predicates.append("rowid IN (SELECT unnest(?))")
                params.append(rowids)
        if not predicates:
            continue
        where = " OR ".join(predicates)
        row = con.execute(f"SELECT count(*) FROM {_ident(table)} WHERE {where}", params).fetchone()
        if row and row[0]:
            out.append(Selection(table, where, params))
    return out


def counts(con: duckdb.DuckDBPyConnection, found: list[Selection]) -> dict[str, int]:
    """Rows per table of the selections."""
    result = {}
    for s in found:
        row = con.execute(f"SELECT count(*) FROM {_ident(s.table)} WHERE {s.where}", s.params)
        result[s.table] = int(row.fetchone()[0])  # type: ignore[index]
    return result


def delete(con: duckdb.DuckDBPyConnection, found: list[Selection]) -> dict[str, int]:
    """Delete the selected rows in the caller's transaction; rows removed per table.

    Counts are taken first for every table: deleting orders first must not hide the order
    lines selected through them, so the owned keys were resolved before any delete."""
    removed = counts(con, found)
    for s in found:
        con.execute(f"DELETE FROM {_ident(s.table)} WHERE {s.where}", s.params)
    return removed


ERASED = "[erased]"
_DISTINCTIVE = 8


def _json_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_catalog = current_database() "
        "AND data_type = 'JSON' ORDER BY table_name, column_name"
    ).fetchall()
    return [(str(t), str(c)) for t, c in rows if str(t) not in KEPT_TABLES]


def scrub_json(
    con: duckdb.DuckDBPyConnection, stored_id: str, *, dry_run: bool = False
) -> dict[str, int]:
    """Replace the quoted id in JSON columns of remaining rows; rows changed per
    ``table.column`` (only for distinctive ids, see the module docstring)."""
    if len(stored_id) < _DISTINCTIVE and not is_pseudonym(stored_id):
        return {}
    quoted = json.dumps(stored_id)
    changed: dict[str, int] = {}
    for table, column in _json_columns(con):
        col = _ident(column)
        where = f"contains(CAST({col} AS VARCHAR), ?)"
        row = con.execute(f"SELECT count(*) FROM {_ident(table)} WHERE {where}", [quoted])
        n = int(row.fetchone()[0])  # type: ignore[index]
        if not n:
            continue
        changed[f"{table}.{column}"] = n
        if not dry_run:
            con.execute(
                f"UPDATE {_ident(table)} SET {col} = CAST(replace(CAST({col} AS VARCHAR), ?, ?) "
                f"AS JSON) WHERE {where}",
                [quoted, json.dumps(ERASED), quoted],
            )
    return changed
