"""Writing analytic results back into the workspace (profiles) and reading fitted models."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.store import Workspace

PROFILE_COLUMNS = (
    "user_id",
    "first_seen",
    "last_seen",
    "events",
    "purchases",
    "mean_price",
    "source",
    "favourite_category",
    "favourite_brand",
    "active_hour",
    "active_weekday",
    "lifecycle",
    "price_band",
    "rfm_segment",
    "clv",
    "clv_band",
    "segment",
)


def write_profiles(workspace: Workspace, profiles: pd.DataFrame) -> int:
    """Replace ``user_profiles`` atomically; returns the rows written."""
    frame = profiles.copy()
    for column in PROFILE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    frame = frame[list(PROFILE_COLUMNS)]
    workspace.init()  # an older workspace gains the user_profiles table here
    with workspace.connect() as con:
        con.register("_profiles_df", frame)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM user_profiles")
        con.execute(
            f"INSERT INTO user_profiles SELECT {', '.join(PROFILE_COLUMNS)}, now() "
            "FROM _profiles_df"
        )
        con.execute("COMMIT")
    return len(frame)


def read_profile(con: duckdb.DuckDBPyConnection, user_ids: Sequence[str]) -> dict[str, Any] | None:
    """The ``user_profiles`` row of the first of ``user_ids`` found (a raw id and its
    pseudonym, say), as a dict; None when none has a profile."""
    cursor = con.execute(
        "SELECT * FROM user_profiles WHERE user_id IN (SELECT unnest(?))", [list(user_ids)]
    )
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return None if row is None else dict(zip(names, row, strict=True))


def user_profile(workspace: Workspace, user_ids: Sequence[str]) -> dict[str, Any]:
    """One user's stored tags (``shopmind profile``); a ShopmindError naming the fix when no
    profile was computed or the id has none."""
    with workspace.connect(read_only=True) as con:
        if con.execute("SELECT count(*) FROM user_profiles").fetchone() == (0,):
            raise ShopmindError(
                "No user profiles yet.", hint="Compute them with `shopmind analyze profiles`."
            )
        record = read_profile(con, user_ids)
    if record is None:
        raise ShopmindError(
            f"No profile for user '{user_ids[0]}'.",
            hint='Check the id (`shopmind sql "SELECT user_id FROM user_profiles LIMIT 5"`).',
        )
    return record


def clv_model_dir(workspace: Workspace) -> Path:
    return workspace.models_dir / "clv"
