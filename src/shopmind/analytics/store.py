"""Writing analytic results back into the workspace (profiles) and reading fitted models."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


def clv_model_dir(workspace: Workspace) -> Path:
    return workspace.models_dir / "clv"
