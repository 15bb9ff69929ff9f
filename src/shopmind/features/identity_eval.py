"""Precision and recall of identity merges against planted truth (``identity evaluate``).

Pairwise measures (the usual ones for entity resolution, e.g. Christen 2012, ch. 7): a pair
of user ids is *predicted* when both ids have the same person id, *true* when both carry the
same ``person`` label (labels table, ``subject_type = 'user'``; written by
``shopmind simulate --identity``). Ids without a label are their own person.
precision = |predicted & true| / |predicted|, recall = |predicted & true| / |true|,
F1 their harmonic mean.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

from shopmind.store import Workspace
from shopmind.store import identity as db
from shopmind.store.identity import IdentityError


def pairs(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    """Every unordered pair inside each group, as (smaller, larger)."""
    out: set[tuple[str, str]] = set()
    for group in groups:
        out.update(combinations(sorted(set(group)), 2))
    return out


def grouped(assignment: Mapping[str, str]) -> list[list[str]]:
    """user -> group key, as lists of users."""
    groups: dict[str, list[str]] = defaultdict(list)
    for user, key in assignment.items():
        groups[key].append(user)
    return list(groups.values())


def pairwise_scores(
    predicted: Mapping[str, str], truth: Mapping[str, str]
) -> dict[str, float | int | None]:
    """Pairwise precision, recall and F1 of ``predicted`` (user -> person) against ``truth``."""
    p, t = pairs(grouped(predicted)), pairs(grouped(truth))
    hit = len(p & t)
    precision = hit / len(p) if p else None
    recall = hit / len(t) if t else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    return {
        "predicted_pairs": len(p),
        "true_pairs": len(t),
        "correct_pairs": hit,
        "false_pairs": len(p - t),
        "missed_pairs": len(t - p),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def evaluate_links(workspace: Workspace) -> dict[str, Any]:
    """Scores of the workspace's current persons against its ``person`` labels."""
    with workspace.connect(read_only=True) as con:
        truth = {
            str(u): str(p)
            for u, p in con.execute(
                "SELECT subject_id, value FROM labels WHERE subject_type = 'user' "
                "AND name = 'person'"
            ).fetchall()
        }
        if not truth:
            raise IdentityError(
                "No planted persons to evaluate against (no `person` labels).",
                hint="Simulate a shop with them: `shopmind simulate --identity 0.15`, then "
                "`shopmind identity link --links <workspace>/raw/simulated_seed0/"
                "identity_links.csv`.",
            )
        predicted = db.read_persons(con) if db.has_identity_tables(con) else {}
    result: dict[str, Any] = dict(pairwise_scores(predicted, truth))
    planted = grouped(truth)
    found = {tuple(sorted(g)) for g in grouped(predicted)}
    result["planted_persons"] = len(planted)
    result["planted_accounts"] = len(truth)
    result["persons_found_exactly"] = sum(tuple(sorted(g)) in found for g in planted)
    result["linked_ids"] = len(predicted)
    return result
