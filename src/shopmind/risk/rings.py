"""Fraud rings: accounts linked by a shared device, IP, payment or address pseudonym.

A ring is a connected component of the graph whose nodes are accounts and whose edges are
link values used by both. Values used by more than ``max_accounts`` accounts are hubs (a
shared office network, a generic value) and link nothing. :class:`RingTracker` grows the
components one order at a time (for features at decision time and for the real-time scorer);
:func:`find_rings` lists the components of the whole history for review.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: A value shared by more accounts than this is a hub and links nothing.
MAX_LINK_ACCOUNTS = 20


@dataclass
class RingTracker:
    """Union-find over accounts, fed in time order. Known-bad accounts carry the time their
    label became known, so a ring's known-bad share at time t counts only labels known by t."""

    max_accounts: int = MAX_LINK_ACCOUNTS
    hubs: frozenset[str] = frozenset()
    parent: dict[str, str] = field(default_factory=dict)
    size: dict[str, int] = field(default_factory=dict)
    bad_times: dict[str, list[float]] = field(default_factory=dict)  # root -> known times
    value_accounts: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    known_bad: dict[str, float] = field(default_factory=dict)  # account -> known time

    def _find(self, node: str) -> str:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    def _add(self, account: str) -> None:
        if account not in self.parent:
            self.parent[account] = account
            self.size[account] = 1
            t = self.known_bad.get(account)
            self.bad_times[account] = [t] if t is not None else []

    def _union(self, a: str, b: str) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size.pop(rb)
        self.bad_times[ra].extend(self.bad_times.pop(rb))

    def mark_bad(self, account: str, known_at: float) -> None:
        """An account's bad label becomes known at ``known_at`` (epoch seconds)."""
        previous = self.known_bad.get(account)
        if previous is not None and previous <= known_at:
            return
        self.known_bad[account] = known_at
        if account in self.parent:
            times = self.bad_times[self._find(account)]
            if previous is not None and previous in times:
                times.remove(previous)
            times.append(known_at)

    def observe(self, account: str, values: Iterable[str]) -> None:
        """Link ``account`` to the accounts that used the same (non-hub) values."""
        self._add(account)
        for value in values:
            if not value or value in self.hubs:
                continue
            users = self.value_accounts[value]
            if account not in users:
                if len(users) >= self.max_accounts:
                    continue
                users.add(account)
            for other in users:
                if other != account:
                    self._union(account, other)
                    break  # the value's accounts are already one component

    def features(self, account: str, at: float) -> tuple[int, float]:
        """(ring size, share of the *other* members known bad at ``at``)."""
        if account not in self.parent:
            return 1, 0.0
        root = self._find(account)
        size = self.size[root]
        if size <= 1:
            return 1, 0.0
        known = sum(1 for t in self.bad_times[root] if t <= at)
        own = self.known_bad.get(account)
        if own is not None and own <= at:
            known -= 1
        return size, known / (size - 1)


def ring_features(
    links: pd.DataFrame, known_bad: dict[str, float], hubs: frozenset[str], max_accounts: int
) -> pd.DataFrame:
    """Per order (rows of ``links``: order_id, user_id, ts seconds, link columns), the ring
    size and known-bad share right after the order's own links are added."""
    tracker = RingTracker(max_accounts=max_accounts, hubs=hubs, known_bad=dict(known_bad))
    kinds = [c for c in links.columns if c not in ("order_id", "user_id", "_s")]
    ordered = links.sort_values(["_s", "order_id"], kind="stable")
    size = np.ones(len(ordered))
    share = np.zeros(len(ordered))
    values = [ordered[k].to_numpy(dtype=object) for k in kinds]
    for i, (user, at) in enumerate(zip(ordered["user_id"], ordered["_s"], strict=True)):
        if user is None or user != user:
            continue
        tracker.observe(
            user,
            [f"{k}:{v[i]}" for k, v in zip(kinds, values, strict=True) if _present(v[i])],
        )
        size[i], share[i] = tracker.features(user, at)
    out = pd.DataFrame({"order_id": ordered["order_id"].to_numpy(), "ring_size": size})
    out["ring_known_bad_share"] = share
    return out


def _present(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def hub_values(links: pd.DataFrame, max_accounts: int) -> frozenset[str]:
    """Link values used by more than ``max_accounts`` accounts."""
    hubs: set[str] = set()
    for kind in [c for c in links.columns if c not in ("order_id", "user_id", "_s")]:
        accounts = links.dropna(subset=[kind]).groupby(kind)["user_id"].nunique()
        hubs.update(f"{kind}:{v}" for v in accounts[accounts > max_accounts].index)
    return frozenset(hubs)


def find_rings(
    links: pd.DataFrame,
    bad_accounts: set[str],
    min_size: int = 3,
    max_accounts: int = MAX_LINK_ACCOUNTS,
) -> list[dict[str, Any]]:
    """Components of at least ``min_size`` accounts over the whole history, largest first."""
    hubs = hub_values(links, max_accounts)
    tracker = RingTracker(max_accounts=max_accounts, hubs=hubs)
    kinds = [c for c in links.columns if c not in ("order_id", "user_id", "_s")]
    columns = {k: links[k].to_numpy(dtype=object) for k in kinds}
    for i, user in enumerate(links["user_id"].to_numpy(dtype=object)):
        if not isinstance(user, str):
            continue
        tracker.observe(user, [f"{k}:{columns[k][i]}" for k in kinds if _present(columns[k][i])])
    members: dict[str, list[str]] = defaultdict(list)
    for account in tracker.parent:
        members[tracker._find(account)].append(account)
    rings: list[dict[str, Any]] = []
    by_user = links.groupby("user_id")
    for accounts in members.values():
        if len(accounts) < min_size:
            continue
        accounts.sort()
        rows = pd.concat([by_user.get_group(a) for a in accounts])
        shared = {}
        for kind in kinds:
            counts = rows.dropna(subset=[kind]).groupby(kind)["user_id"].nunique()
            shared[kind] = int((counts > 1).sum())
        bad = sum(a in bad_accounts for a in accounts)
        rings.append(
            {
                "size": len(accounts),
                "accounts": accounts,
                "orders": len(rows),
                "shared_values": shared,
                "known_bad": bad,
                "known_bad_share": bad / len(accounts),
            }
        )
    rings.sort(key=lambda r: (-len(r["accounts"]), min(r["accounts"])))
    for number, ring in enumerate(rings, start=1):
        ring["ring_id"] = f"ring{number:04d}"
    return rings


def ring_recovery(rings: list[dict[str, Any]], truth: set[str]) -> dict[str, float]:
    """Precision and recall of ring members against accounts known to be in planted rings."""
    found = {a for ring in rings for a in ring["accounts"]}
    hit = len(found & truth)
    return {
        "members_found": len(found),
        "true_members": len(truth),
        "precision": hit / len(found) if found else float("nan"),
        "recall": hit / len(truth) if truth else float("nan"),
    }
