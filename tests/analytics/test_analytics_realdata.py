"""Funnel, retention and RFM on real files, checked against independent pandas code."""

from __future__ import annotations

import pandas as pd
import pytest

from shopmind.analytics.funnel import FunnelQuery, funnel
from shopmind.analytics.retention import retention
from shopmind.analytics.rfm import SEGMENT_RULES, rfm, rfm_table
from shopmind.errors import AnalyticsError
from shopmind.features.tables import duckdb_tables
from shopmind.store import Workspace
from tests.analytics import reference

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("order", ["ordered", "strict", "unordered"])
def test_taobao_funnel_matches_brute_force(taobao_ws: Workspace, order: str) -> None:
    steps = ["view", "cart", "purchase"]
    expected = reference.funnel_users(reference.events_frame(taobao_ws), steps, 86_400, order)
    with duckdb_tables(taobao_ws) as tables:
        got = funnel(tables, FunnelQuery(tuple(steps), 86_400, order))  # type: ignore[arg-type]
    assert [s["users"] for s in got["steps"]] == expected
    assert expected[-1] > 0


def test_taobao_funnel_window_matters(taobao_ws: Workspace) -> None:
    with duckdb_tables(taobao_ws) as tables:
        short = funnel(tables, FunnelQuery(("view", "purchase"), 600))
        long = funnel(tables, FunnelQuery(("view", "purchase"), 3 * 86_400))
    assert short["steps"][1]["users"] < long["steps"][1]["users"]
    frame = reference.events_frame(taobao_ws)
    assert (
        short["steps"][1]["users"]
        == reference.funnel_users(frame, ["view", "purchase"], 600, "ordered")[1]
    )


def test_retail_refund_funnel_matches_brute_force(retail_ws: Workspace) -> None:
    frame = reference.events_frame(retail_ws)
    expected = reference.funnel_users(frame, ["purchase", "refund"], 30 * 86_400, "ordered")
    with duckdb_tables(retail_ws) as tables:
        got = funnel(tables, FunnelQuery(("purchase", "refund"), 30 * 86_400))
    assert [s["users"] for s in got["steps"]] == expected


@pytest.mark.parametrize("period,periods", [("month", 6), ("week", 4)])
def test_retail_retention_matches_pandas(retail_ws: Workspace, period: str, periods: int) -> None:
    frame = reference.events_frame(retail_ws)
    expected = reference.retention_matrix(frame, "purchase", "purchase", period, periods)
    with duckdb_tables(retail_ws) as tables:
        got = retention(tables, "purchase", "purchase", period, periods=periods)  # type: ignore[arg-type]
    # cells not observable yet are None (the brute force counts them as 0)
    assert [[v or 0 for v in c["retained"]] for c in got["cohorts"]] == [
        expected[k] for k in sorted(expected, key=int)
    ]
    assert got["cohorts"][-1]["retained"][1] is None


def test_taobao_daily_retention_matches_pandas(taobao_ws: Workspace) -> None:
    frame = reference.events_frame(taobao_ws)
    expected = reference.retention_matrix(frame, "view", "purchase", "day", 5)
    with duckdb_tables(taobao_ws) as tables:
        got = retention(tables, "view", "purchase", "day", periods=5)
    assert [[v or 0 for v in c["retained"]] for c in got["cohorts"]] == [
        expected[k] for k in sorted(expected, key=int)
    ]


@pytest.mark.parametrize("fixture", ["retail_ws", "taobao_ws"])
def test_rfm_scores_match_pandas(fixture: str, request: pytest.FixtureRequest) -> None:
    ws: Workspace = request.getfixturevalue(fixture)
    frame = reference.events_frame(ws)
    last = pd.to_datetime(reference.query(ws, "SELECT max(ts) FROM events")[0][0], utc=True)
    expected = reference.rfm_scores(frame, last.normalize() + pd.Timedelta(days=1))
    with duckdb_tables(ws) as tables:
        got = rfm_table(tables).execute().set_index("user_id").sort_index()
        summary = rfm(tables)
    expected = expected.sort_index()
    assert list(got.index) == list(expected.index)
    assert (got["frequency"].to_numpy() == expected["frequency"].to_numpy()).all()
    assert got["monetary"].to_numpy(dtype=float) == pytest.approx(
        expected["monetary"].to_numpy(dtype=float), nan_ok=True
    )
    assert got["recency_days"].to_numpy() == pytest.approx(expected["recency"].to_numpy())
    for column in ("r", "f", "m"):
        assert got[column].to_numpy(dtype=float) == pytest.approx(
            expected[column].to_numpy(dtype=float), nan_ok=True
        ), column
    names = {n for n, _, _ in SEGMENT_RULES}
    assert {s["name"] for s in summary["segments"]} <= names
    assert sum(s["customers"] for s in summary["segments"]) == len(expected)


def test_unknown_step_lists_event_types(taobao_ws: Workspace) -> None:
    with duckdb_tables(taobao_ws) as tables, pytest.raises(AnalyticsError) as info:
        funnel(tables, FunnelQuery(("view", "teleport"), 60))
    assert "teleport" in str(info.value) and "purchase" in str(info.value)
