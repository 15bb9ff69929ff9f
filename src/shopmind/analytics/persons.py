"""Person-level profiles: the tags of :mod:`shopmind.analytics.profiles` computed over the
merged history of every account linked into one person (``shopmind profile ID --per person``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shopmind.analytics.profiles import build_profiles
from shopmind.errors import AnalyticsError
from shopmind.features.identity import person_tables
from shopmind.features.tables import duckdb_tables
from shopmind.store import Workspace
from shopmind.store import identity as db


def person_profile(workspace: Workspace, ids: Sequence[str]) -> dict[str, Any]:
    """Tags of the person holding one of ``ids`` (user ids or a person id), computed now over
    all persons (bands are terciles among persons); ``members`` lists its user ids."""
    with workspace.connect(read_only=True) as con:
        persons = db.read_persons(con) if db.has_identity_tables(con) else {}
    person = next((i for i in ids if i in set(persons.values())), None)
    person = person or next((persons[i] for i in ids if i in persons), None) or ids[0]
    with duckdb_tables(workspace) as tables:
        frame = build_profiles(person_tables(tables))
    rows = frame[frame["user_id"] == person]
    if rows.empty:
        person = next((i for i in ids if i in set(frame["user_id"])), None) or person
        rows = frame[frame["user_id"] == person]
    if rows.empty:
        raise AnalyticsError(
            f"No events for user or person '{ids[0]}'.",
            hint="Check the id (`shopmind identity show ID`), or link first: "
            "`shopmind identity link`.",
        )
    record: dict[str, Any] = {str(k): v for k, v in rows.iloc[0].to_dict().items()}
    record["person_id"] = record.pop("user_id")
    record["members"] = sorted(u for u, p in persons.items() if p == person) or [person]
    return record
