"""The linking rules as a pure graph step: union-find over evidence edges (Tarjan 1975).

See :mod:`shopmind.features.identity` for the rules; this module has no workspace access.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from shopmind.privacy import pseudonymize
from shopmind.privacy.pii import normalize_phone
from shopmind.store.identity import Edge, MergeRecord

PLACEHOLDER_EMAILS = (
    "test@test.com",
    "test@example.com",
    "noemail@example.com",
    "no@email.com",
    "none@none.com",
    "null@null.com",
    "a@a.com",
    "unknown@unknown.com",
    "noreply@example.com",
)
PLACEHOLDER_PHONES = ("00000000000", "0000000000", "11111111111", "12345678901", "13800138000")


@dataclass(frozen=True)
class LinkRules:
    """When shared evidence counts (see :mod:`shopmind.features.identity`); ``households``
    False turns off the household-phone rule (for ablations)."""

    max_ids_per_value: int = 4
    max_person_ids: int = 8
    placeholder_emails: tuple[str, ...] = PLACEHOLDER_EMAILS
    placeholder_phones: tuple[str, ...] = PLACEHOLDER_PHONES
    households: bool = True

    def placeholder_hashes(self, key: bytes | None) -> set[str]:
        """Keyed hashes of the placeholder values, as ingest stores them."""
        if not key:
            return set()
        values = [v.strip().lower() for v in self.placeholder_emails]
        values += [normalize_phone(v) for v in self.placeholder_phones]
        return {pseudonymize(v, key, prefix="h_") for v in values}


def person_id_for(members: Iterable[str], taken: Collection[str] = ()) -> str:
    """``p_`` + 20 hex of sha256 of the smallest member (members are already pseudonyms);
    salted with a counter while the id is in ``taken`` (an id kept by another person)."""
    seed, salt = f"person|{min(members)}", 0
    while True:
        text = f"{seed}|{salt}" if salt else seed
        pid = "p_" + hashlib.sha256(text.encode()).hexdigest()[:20]
        if pid not in taken:
            return pid
        salt += 1


class Components:
    """Union-find with per-component e-mails, undo tags and size (refusals named)."""

    def __init__(self, blocks: Sequence[MergeRecord], max_size: int) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}
        self.emails: dict[str, set[str]] = defaultdict(set)
        self.tags: dict[str, dict[str, int]] = defaultdict(dict)
        self.max_size = max_size
        for merge in blocks:
            for index, group in enumerate(merge.before):
                for member in group:
                    self.tags[self.find(member)][merge.merge_id] = index

    def find(self, x: str) -> str:
        if x not in self.parent:
            self.parent[x], self.size[x] = x, 1
            return x
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def refusal(self, a: str, b: str) -> str | None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        if self.size[ra] + self.size[rb] > self.max_size:
            return "person too large"
        ta, tb = self.tags.get(ra, {}), self.tags.get(rb, {})
        if any(m in tb and tb[m] != i for m, i in ta.items()):
            return "undone merge"
        return None

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb] or (self.size[ra] == self.size[rb] and rb < ra):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size.pop(rb)
        self.emails[ra] |= self.emails.pop(rb, set())
        self.tags[ra].update(self.tags.pop(rb, {}))

    def groups(self) -> list[list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return [sorted(g) for g in out.values()]


def resolve(
    logins: Sequence[Edge],
    groups: dict[tuple[str, str], list[str]],
    rules: LinkRules,
    placeholders: set[str],
    blocks: Sequence[MergeRecord] = (),
) -> tuple[Components, list[tuple[Edge, bool, str | None]], Counter[str]]:
    """Apply the rules: components, every edge with its verdict, and skipped values by reason."""
    comps = Components(blocks, rules.max_person_ids)
    verdicts: list[tuple[Edge, bool, str | None]] = []
    skipped: Counter[str] = Counter()

    def apply(edge: Edge) -> None:
        reason = comps.refusal(edge.id_a, edge.id_b)
        if reason is None:
            comps.union(edge.id_a, edge.id_b)
        verdicts.append((edge, reason is None, reason))

    valid: dict[str, list[tuple[str, list[str]]]] = {"email": [], "phone": []}
    for (kind, value), ids in sorted(groups.items()):
        if value in placeholders:
            skipped[f"{kind} placeholder"] += 1
        elif len(ids) > rules.max_ids_per_value:
            skipped[f"{kind} shared by more than {rules.max_ids_per_value} ids"] += 1
        else:
            valid[kind].append((value, ids))
            if kind == "email":
                for user in ids:
                    comps.emails[comps.find(user)].add(value)
    for edge in sorted(logins, key=lambda e: (e.id_a, e.id_b)):
        apply(edge)
    for value, ids in valid["email"]:
        for other in ids[1:]:
            apply(Edge("email", value, ids[0], other, "users"))
    for value, ids in valid["phone"]:
        emails = [comps.emails.get(comps.find(u), set()) for u in ids]
        carried = {frozenset(e) for e in emails if e}
        household = len(carried) > 1 and not set.intersection(*map(set, carried))
        if household and rules.households:
            skipped["phone shared by holders of different e-mails (household)"] += 1
            continue
        for other in ids[1:]:
            apply(Edge("phone", value, ids[0], other, "users"))
    return comps, verdicts, skipped
