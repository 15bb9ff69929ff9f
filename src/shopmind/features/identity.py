"""One person across platforms: link user ids into person ids, with history and undo.

Evidence, strongest first: explicit login links (``id_a,id_b`` pairs, e.g. a web account
logged in inside the app), equal keyed e-mail hashes and equal keyed phone hashes of
``users.attributes`` (``<col>_hash``, made at ingest; phones normalised before hashing, see
:func:`shopmind.privacy.pii.normalize_phone`). Ids are joined with a union-find
(Tarjan 1975) under rules that prefer a missed link to a wrong one:

* a value held by more than ``max_ids_per_value`` ids (default 4: one per platform web,
  app, mini-program, store) is shared, not personal, and gives no edge;
* known placeholder values (``test@test.com``, ``13800138000``, ...) give no edge;
* a phone whose holders already carry two different e-mails (after login and e-mail links)
  is a household phone and gives no edge;
* a person never grows beyond ``max_person_ids`` ids;
* groups split by ``identity undo`` stay apart until a forced re-link.

A linked component gets one person id, stable across re-runs: the id it had before (the
largest previous person in it), else ``p_`` + sha256 of its smallest member.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
from ibis.expr.types import Table

from shopmind.features.identity_graph import (
    Components,
    LinkRules,
    person_id_for,
    resolve,
)
from shopmind.features.tables import Tables
from shopmind.privacy import pii_kind, pseudonymize
from shopmind.store import Workspace
from shopmind.store import identity as db
from shopmind.store.encryption import read_file
from shopmind.store.identity import Edge, IdentityError, MergeRecord


@dataclass
class LinkReport:
    """What one ``identity link`` did."""

    users: int = 0
    persons: int = 0
    linked_ids: int = 0
    edges: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    merges: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    login_links_added: int = 0
    unknown_link_ids: int = 0
    blocks_lifted: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "persons": self.persons,
            "linked_ids": self.linked_ids,
            "edges_used": dict(sorted(self.edges.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "merges": self.merges,
            "splits": self.splits,
            "login_links_added": self.login_links_added,
            "unknown_link_ids": self.unknown_link_ids,
            "blocks_lifted": self.blocks_lifted,
        }


def _column_kinds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Hashed column -> PII kind, from the users loads' reports (content-detected columns)."""
    kinds: dict[str, str] = {}
    for (options,) in con.execute(
        "SELECT options FROM ingestions WHERE target = 'users' AND options IS NOT NULL"
    ).fetchall():
        columns = json.loads(options).get("pii_columns") or {}
        for column, verdict in columns.items():
            kinds[f"{column}_hash"] = str(verdict).split(" ")[0]
    return kinds


def value_groups(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """(kind email|phone, keyed hash) -> the sorted user ids holding it."""
    rows = con.execute(
        "SELECT DISTINCT user_id, k, json_extract_string(attributes, k) FROM ("
        "  SELECT user_id, attributes, unnest(json_keys(attributes)) AS k FROM users"
        "  WHERE attributes IS NOT NULL AND json_type(attributes) = 'OBJECT')"
        " WHERE k LIKE '%\\_hash' ESCAPE '\\'"
    ).fetchall()
    known = _column_kinds(con)
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for user_id, column, value in rows:
        kind = known.get(column) or pii_kind(column[: -len("_hash")])
        if kind in ("email", "phone") and value:
            groups[(kind, str(value))].add(str(user_id))
    return {k: sorted(v) for k, v in groups.items()}


def read_links(path: Path, key: bytes | None) -> list[tuple[str, str]]:
    """Login links from a CSV with a header and two id columns (e.g. ``id_a,id_b``); ids are
    pseudonymised with ``key`` when given (as ingest stores them)."""
    if not path.is_file():
        raise IdentityError(
            f"Links file {path} not found.",
            hint="Give a CSV with a header and two columns of user ids, e.g. id_a,id_b.",
        )
    text = read_file(path).decode("utf-8-sig")  # sealed files of an encrypted workspace too
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    if not rows or len(rows[0]) != 2:
        found = ", ".join(rows[0]) if rows else "nothing"
        raise IdentityError(
            f"{path} must have a header and exactly two columns of user ids (found: {found}).",
            hint="Write one pair per line: id_a,id_b (the ids as in your users and events).",
        )
    pairs = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise IdentityError(
                f"{path} line {number}: expected two non-empty ids, found {len(row)} fields.",
                hint="Fix or remove that line; every line is id_a,id_b.",
            )
        a, b = (v.strip() for v in row)
        if key:
            a, b = pseudonymize(a, key), pseudonymize(b, key)
        if a != b:
            pairs.append((min(a, b), max(a, b)))
    return pairs


def workspace_pseudonymised(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether users or events were loaded with pseudonyms (then link ids are pseudonymised)."""
    rows = con.execute(
        "SELECT bool_or(pseudonymized) FROM ingestions WHERE target IN ('users', 'events')"
    ).fetchall()
    return bool(rows[0][0])


def known_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT user_id FROM users UNION SELECT DISTINCT user_id FROM events "
        "WHERE user_id IS NOT NULL"
    ).fetchall()
    return {str(r[0]) for r in rows}


def link_identities(
    workspace: Workspace,
    key: bytes | None,
    *,
    links: Path | None = None,
    pseudonymize_links: bool | None = None,
    force: bool = False,
    rules: LinkRules | None = None,
) -> LinkReport:
    """Recompute persons from all evidence in one transaction; record merges and splits.

    ``key``: the pseudonymisation key (for placeholder hashes and link ids). ``force``: lift
    the blocks of undone merges first. ``pseudonymize_links`` None: as the workspace was
    loaded."""
    rules = rules or LinkRules()
    report = LinkReport()
    if links is not None and not links.is_file():
        read_links(links, None)  # the error names the file and the expected layout
    if not workspace.exists():
        raise IdentityError(
            f"No workspace at {workspace.root}.",
            hint="Load users first: `shopmind ingest users.csv --table users` or "
            "`shopmind simulate --identity 0.15`.",
        )
    workspace.init()  # an older workspace gains the identity tables here
    with workspace.connect() as con:
        if pseudonymize_links is None:
            pseudonymize_links = workspace_pseudonymised(con)
        if pseudonymize_links and not key:
            raise IdentityError(
                "The workspace holds pseudonyms but no pseudonymisation key is available.",
                hint="Set SHOPMIND_PSEUDONYMIZE_KEY to the key used at ingest.",
            )
        pairs = read_links(links, key if pseudonymize_links else None) if links else []
        known = known_ids(con)
        report.unknown_link_ids = len({i for p in pairs for i in p} - known)
        con.execute("BEGIN TRANSACTION")
        try:
            source = links.name if links else ""
            report.login_links_added = db.add_login_edges(
                con, [Edge("login", f"file:{source}", a, b, source) for a, b in pairs]
            )
            if force:
                report.blocks_lifted = db.lift_blocks(con)
            blocks = db.read_merges(con, blocking_only=True)
            comps, verdicts, report.skipped = resolve(
                db.login_edges(con),
                value_groups(con),
                rules,
                rules.placeholder_hashes(key),
                blocks,
            )
            for _edge, used, note in verdicts:
                if not used:
                    report.skipped[f"edge refused: {note}"] += 1
            report.edges = Counter(e.kind for e, used, _ in verdicts if used)
            db.replace_edges(con, verdicts)
            _record(con, comps, verdicts, report, forced=force)
            report.users = len(known)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return report


def _record(
    con: duckdb.DuckDBPyConnection,
    comps: Components,
    verdicts: Sequence[tuple[Edge, bool, str | None]],
    report: LinkReport,
    *,
    forced: bool,
) -> None:
    """Diff the new components against ``persons``: write persons, merges and splits."""
    previous = db.read_persons(con)
    by_person: dict[str, set[str]] = defaultdict(set)
    for user, person in previous.items():
        by_person[person].add(user)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for edge, used, _ in verdicts:
        if used:
            kinds[comps.find(edge.id_a)][edge.kind] += 1
    new_groups = [g for g in comps.groups() if len(g) > 1]
    persons: dict[str, str] = {}
    taken: set[str] = set()
    seq = db.next_merge_id(con)
    records: list[MergeRecord] = []
    ordered = sorted(new_groups, key=lambda g: (-len(g), g[0]))
    befores: list[dict[str, list[str]]] = []
    chosen: list[str | None] = []
    for group in ordered:  # first keep old ids (the biggest share of an old person wins)
        before: dict[str, list[str]] = defaultdict(list)
        for user in group:
            before[previous.get(user, user)].append(user)
        olds = sorted(
            (p for p in before if p in by_person and p not in taken),
            key=lambda p: (-len(before[p]), p),
        )
        befores.append(before)
        chosen.append(olds[0] if olds else None)
        taken.update(olds[:1])
    for group, before, kept in zip(ordered, befores, chosen, strict=True):
        person = kept or person_id_for(group, taken)
        taken.add(person)
        persons.update({u: person for u in group})
        if len(before) > 1:
            reason = ", ".join(f"{k} {n}" for k, n in sorted(kinds[comps.find(group[0])].items()))
            before_groups = sorted(sorted(v) for v in before.values())
            records.append(
                MergeRecord(f"m{seq:06d}", "merge", person, before_groups, [group], reason, forced)
            )
            seq += 1
    for person, members in sorted(by_person.items()):
        after: dict[str, list[str]] = defaultdict(list)
        for user in sorted(members):
            after[persons.get(user, user)].append(user)
        if len(after) > 1:
            records.append(
                MergeRecord(
                    f"m{seq:06d}",
                    "split",
                    person,
                    [sorted(members)],
                    sorted(after.values()),
                    "evidence no longer links them",
                    forced,
                )
            )
            seq += 1
    db.write_persons(con, persons)
    db.insert_merges(con, records)
    report.merges = [r.merge_id for r in records if r.action == "merge"]
    report.splits = [r.merge_id for r in records if r.action == "split"]
    report.persons = len(set(persons.values()))
    report.linked_ids = len(persons)


def person_events(tables: Tables) -> Table:
    """Events with ``person_id``: the linked person, else the user id itself (Ibis)."""
    events = tables.events()
    persons = _persons_table(tables)
    if persons is None:
        return events.mutate(person_id=events.user_id)
    joined = events.left_join(persons, events.user_id == persons.p_user_id)
    return joined.mutate(person_id=ibis.coalesce(joined.p_person_id, joined.user_id)).drop(
        "p_user_id", "p_person_id"
    )


def person_tables(tables: Tables) -> Tables:
    """The same tables with ``user_id`` of events and orders replaced by the person id, so
    every analytic on them counts persons instead of accounts."""
    persons = _persons_table(tables)
    if persons is None:
        return tables
    swapped = dict(tables.tables)
    for name in ("events", "orders"):
        table = tables.tables[name]
        joined = table.left_join(persons, table.user_id == persons.p_user_id)
        swapped[name] = joined.mutate(
            user_id=ibis.coalesce(joined.p_person_id, joined.user_id)
        ).select(*table.columns)
    return tables.with_tables(swapped)


def _persons_table(tables: Tables) -> Table | None:
    if "persons" not in tables.backend.list_tables():
        return None
    persons = tables.backend.table("persons")
    return persons.select(p_user_id=persons.user_id, p_person_id=persons.person_id)


__all__ = [
    "IdentityError",
    "LinkReport",
    "LinkRules",
    "known_ids",
    "link_identities",
    "person_events",
    "person_id_for",
    "person_tables",
    "read_links",
    "resolve",
]
