"""Reading and undoing the identity history: show a person, list merges, undo a merge."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from shopmind.features.identity import known_ids, person_id_for
from shopmind.store import Workspace
from shopmind.store import identity as db
from shopmind.store.identity import IdentityError


def undo_merge(workspace: Workspace, merge_id: str, principal: str) -> dict[str, Any]:
    """Split a merge back into the groups it joined; they stay apart on later links unless
    ``identity link --force``. Only the newest merge touching these ids can be undone."""
    with workspace.connect() as con:
        if not db.has_identity_tables(con):
            raise IdentityError("No identity links yet.", hint="Run `shopmind identity link`.")
        found = db.read_merges(con, merge_id=merge_id)
        if not found or found[0].action != "merge":
            raise IdentityError(
                f"No merge {merge_id!r}.", hint="List them with `shopmind identity merges`."
            )
        merge = found[0]
        if merge.undone_at is not None:
            raise IdentityError(
                f"Merge {merge_id} was already undone at {merge.undone_at}.",
                hint="To merge these ids again, run `shopmind identity link --force`.",
            )
        members = set(merge.after[0])
        later = [
            m
            for m in db.read_merges(con)
            if m.merge_id > merge_id and m.undone_at is None and members & m.members()
        ]
        if later:
            raise IdentityError(
                f"Merge {merge_id} was followed by {later[-1].merge_id} on the same ids.",
                hint=f"Undo the later one first: `shopmind identity undo {later[-1].merge_id}`.",
            )
        persons = db.read_persons(con)
        con.execute("BEGIN TRANSACTION")
        try:
            for user in merge.after[0]:
                persons.pop(user, None)
            for group in merge.before:
                if len(group) > 1:
                    pid = person_id_for(group, set(persons.values()))
                    persons.update({u: pid for u in group})
            db.write_persons(con, persons)
            db.mark_undone(con, merge_id, principal)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return {"merge_id": merge_id, "split_into": merge.before, "undone_by": principal}


def show_identity(workspace: Workspace, ids: Sequence[str]) -> dict[str, Any]:
    """A person (found by a person id or any member's id) with its members, their platforms
    (main ``events.source``), its evidence and its merges."""
    with workspace.connect(read_only=True) as con:
        if not db.has_identity_tables(con):
            raise IdentityError("No identity links yet.", hint="Run `shopmind identity link`.")
        persons = db.read_persons(con)
        members_of: dict[str, list[str]] = defaultdict(list)
        for user, owner in persons.items():
            members_of[owner].append(user)
        found = next((i for i in ids if i in members_of), None)
        found = found or next((persons[i] for i in ids if i in persons), None)
        if found is None:
            known = known_ids(con)
            found = next((i for i in ids if i in known), None)
            if found is None:
                raise IdentityError(
                    f"No user or person {ids[0]!r}.",
                    hint="Give a user id as stored or ingested, or a person id (p_...).",
                )
            members_of[found] = [found]
        person: str = found
        members = sorted(members_of[person])
        platforms = dict(
            con.execute(
                "SELECT user_id, mode(source) FROM events WHERE user_id IN (SELECT unnest(?)) "
                "GROUP BY user_id",
                [members],
            ).fetchall()
        )
        merges = [m.to_dict() for m in db.read_merges(con) if set(members) & m.members()]
        edges = db.edges_of(con, members)
    return {
        "person_id": person,
        "members": [{"user_id": u, "platform": platforms.get(u)} for u in members],
        "edges": edges,
        "merges": merges,
    }


def list_merges(workspace: Workspace, limit: int = 100) -> list[dict[str, Any]]:
    """The merge history, newest first."""
    with workspace.connect(read_only=True) as con:
        if not db.has_identity_tables(con):
            return []
        return [m.to_dict() for m in db.read_merges(con, limit=limit)]


__all__ = ["list_merges", "show_identity", "undo_merge"]
