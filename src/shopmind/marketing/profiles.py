"""User profiles (tags) for every user, with the 12-month CLV of the fitted CLV model and
the behavioural segment, stored in ``user_profiles`` (``shopmind analyze profiles``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopmind.store import Workspace

#: Months of the CLV stored in the profiles.
CLV_MONTHS = 12


def compute_profiles(
    workspace: Workspace, progress: Callable[[str], None] = lambda _stage: None
) -> dict[str, Any]:
    """Build and store every user's profile; ``users`` written and the ``lifecycle`` counts.

    The CLV columns stay empty without a fitted CLV model (``shopmind clv fit``), and the
    segment without enough users to segment."""
    from shopmind.analytics.profiles import build_profiles
    from shopmind.analytics.segments import segment_users
    from shopmind.analytics.store import clv_model_dir, write_profiles
    from shopmind.features.tables import duckdb_tables

    clv = None
    if (clv_model_dir(workspace) / "clv.json").exists():
        from shopmind.models.clv import CLVModel

        clv = CLVModel.load(clv_model_dir(workspace)).predict(CLV_MONTHS)
    with duckdb_tables(workspace) as tables:
        progress("tags")
        frame = build_profiles(tables, clv)
        progress("segments")
        try:
            seg = segment_users(tables)["assignments"]
            frame = frame.merge(seg, on="user_id", how="left")
        except Exception:  # too few users to segment
            frame["segment"] = None
    written = write_profiles(workspace, frame)
    return {"users": written, "lifecycle": frame["lifecycle"].value_counts().to_dict()}
