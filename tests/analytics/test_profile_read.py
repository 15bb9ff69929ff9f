"""One read of a stored profile for ``shopmind profile`` and the console's customer page;
session figures of ``shopmind analyze sessions`` (worked out by hand)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopmind.analytics.sessions import session_summary
from shopmind.analytics.store import read_profile, user_profile, write_profiles
from shopmind.errors import ShopmindError
from shopmind.features.tables import duckdb_tables
from shopmind.marketing.customer_view import profile as console_profile
from shopmind.store import Workspace
from tests.analytics.small_retail import small_retail


def test_no_profiles_yet_says_how_to_compute_them(workspace: Workspace) -> None:
    with pytest.raises(ShopmindError, match="No user profiles yet") as caught:
        user_profile(workspace, ["u1"])
    assert "shopmind analyze profiles" in (caught.value.hint or "")


def test_profile_found_by_any_candidate_id(workspace: Workspace) -> None:
    frame = pd.DataFrame(
        {"user_id": ["u_pseudo", "u_other"], "lifecycle": ["active", "lapsed"], "events": [3, 1]}
    )
    assert write_profiles(workspace, frame) == 2
    record = user_profile(workspace, ["raw-id", "u_pseudo"])  # raw id, then its pseudonym
    assert record["user_id"] == "u_pseudo" and record["lifecycle"] == "active"
    assert record["events"] == 3 and record["clv"] is None
    with workspace.connect(read_only=True) as con:
        assert read_profile(con, ["nobody"]) is None
        assert console_profile(con, "u_other") == read_profile(con, ["u_other"])
        assert console_profile(con, "u_other")["lifecycle"] == "lapsed"  # type: ignore[index]
    with pytest.raises(ShopmindError, match="No profile for user 'raw-id'"):
        user_profile(workspace, ["raw-id"])


def test_session_summary_by_hand(tmp_path: Path) -> None:
    # user 1: Jan 2 (2 lines at 10:00) and Jan 9; user 2: Jan 3 and the refund on Jan 10;
    # the anonymous order has no user and no session
    with duckdb_tables(small_retail(tmp_path)) as tables:
        result = session_summary(tables.events(), 30.0)
    assert result == {
        "sessions": 4,
        "users": 2,
        "mean_events": 1.25,
        "median_duration_seconds": 0.0,
        "gap_minutes": 30.0,
    }
    assert isinstance(result["sessions"], int) and isinstance(result["mean_events"], float)
