"""Funnels and sessions on the simulated shop, whole results checked against independent
brute-force / pandas code (per user and per session, not only totals)."""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from shopmind.analytics.funnel import FunnelQuery, funnel, funnel_levels
from shopmind.analytics.sessions import session_stats
from shopmind.features.sessions import gap_sessions, sessionize, sessions_per_user
from shopmind.features.tables import duckdb_tables, epoch_seconds, epoch_us
from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.analytics import reference
from tests.conftest import options, query

WINDOW = 3600


@pytest.fixture(scope="module")
def frame(sim_ws: Workspace) -> pd.DataFrame:
    return reference.events_frame(sim_ws)


@pytest.fixture(scope="module")
def events(sim_ws: Workspace) -> pd.DataFrame:
    rows = query(
        sim_ws,
        "SELECT user_id, event_id, session_id, epoch_us(ts) AS us FROM events "
        "WHERE user_id IS NOT NULL",
    )
    e = pd.DataFrame(rows, columns=["user_id", "event_id", "session_id", "us"])
    return e.sort_values(["user_id", "us", "event_id"], kind="stable").reset_index(drop=True)


def best_chains(frame: pd.DataFrame, steps: list[str], window: int) -> pd.DataFrame:
    """Ordered funnel by brute force: per user the highest level, then the earliest start;
    a chain starts at a step-1 event whose next step event is not step 1 (when the steps are
    distinct) and takes the first event of each next step."""
    rows = []
    distinct = len(set(steps)) == len(steps)
    frame = reference.in_step_order(frame, steps)
    for user, g in frame[frame["event_type"].isin(steps)].groupby("user_id", sort=False):
        types, times = g["event_type"].tolist(), g["t"].tolist()
        best: tuple[int, list[int | None]] | None = None
        for i, kind in enumerate(types):
            if kind != steps[0]:
                continue
            if distinct and i + 1 < len(types) and types[i + 1] == steps[0]:
                continue
            chain: list[int | None] = [times[i]]
            pos: int | None = i
            for step in steps[1:]:
                nxt = None
                if pos is not None:
                    nxt = next((j for j in range(pos + 1, len(types)) if types[j] == step), None)
                chain.append(times[nxt] if nxt is not None else None)
                pos = nxt
            level = 1
            for tk in chain[1:]:
                if tk is None or tk - times[i] > window:
                    break
                level += 1
            if best is None or level > best[0]:
                best = (level, chain)
        if best is not None:
            rows.append(
                {"user_id": user, "level": best[0]}
                | {f"t{k}": v for k, v in enumerate(best[1], start=1)}
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "order,steps",
    [
        ("ordered", ("view", "cart", "purchase")),
        ("ordered", ("view", "view", "purchase")),
        ("ordered", ("cart", "purchase", "view")),
        ("strict", ("view", "cart", "purchase")),
        ("unordered", ("view", "cart", "purchase")),
    ],
)
def test_funnel_users_match_brute_force(
    sim_ws: Workspace, frame: pd.DataFrame, order: str, steps: tuple[str, ...]
) -> None:
    expected = reference.funnel_users(frame, list(steps), WINDOW, order)
    with duckdb_tables(sim_ws) as tables:
        got = funnel(tables, FunnelQuery(steps, WINDOW, order))  # type: ignore[arg-type]
    assert [s["users"] for s in got["steps"]] == expected
    assert expected[-1] > 0


@pytest.mark.parametrize(
    "steps", [("view", "cart", "purchase"), ("view", "view", "purchase"), ("cart", "purchase")]
)
def test_ordered_funnel_chains_match_brute_force(
    sim_ws: Workspace, frame: pd.DataFrame, steps: tuple[str, ...]
) -> None:
    expected = best_chains(frame, list(steps), WINDOW).sort_values("user_id")
    with duckdb_tables(sim_ws) as tables:
        got = funnel_levels(tables, FunnelQuery(steps, WINDOW)).execute()
    got = got.sort_values("user_id")[expected.columns]
    assert got["user_id"].tolist() == expected["user_id"].tolist()
    for column in expected.columns[1:]:
        left = got[column].astype("float64").fillna(-1).to_numpy()
        right = expected[column].astype("float64").fillna(-1).to_numpy()
        assert (left == right).all(), column


def test_same_time_events_are_taken_in_step_order(tmp_path: Path) -> None:
    """A view and a cart logged at the same second count as view -> cart whatever their ids
    (ClickHouse's windowFunnel sorts by (time, step): its test 01646); a cart before the view
    does not. With a breakdown the levels are the same."""
    path = tmp_path / "ties.csv"
    path.write_text(
        "event_id,user_id,item_id,event_type,ts,source\n"
        "e2,a,i1,view,2025-01-01T10:00:00Z,web\n"
        "e1,a,i1,cart,2025-01-01T10:00:00Z,web\n"
        "e3,b,i1,cart,2025-01-01T09:00:00Z,app\n"
        "e4,b,i1,view,2025-01-01T10:00:00Z,app\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options(pseudonymize=False))
    assert sorted(query(ws, "SELECT event_id FROM events"))[0] < ("e2",)  # cart's id first
    with duckdb_tables(ws) as tables:
        plain = funnel(tables, FunnelQuery(("view", "cart"), WINDOW))
        by = funnel(tables, FunnelQuery(("view", "cart"), WINDOW, by="source"))
    assert [s["users"] for s in plain["steps"]] == [2, 1]
    assert {k: [s["users"] for s in v] for k, v in by["breakdown"].items()} == {
        "web": [1, 1],
        "app": [1, 0],
    }


def pandas_sessions(events: pd.DataFrame, gap_minutes: float, source_ids: bool) -> pd.DataFrame:
    gap = events.groupby("user_id")["us"].diff()
    number = (
        (gap.isna() | (gap > gap_minutes * 60e6)).astype(int).groupby(events["user_id"]).cumsum()
    )
    key = events["user_id"] + "#" + number.astype(str)
    if source_ids:
        key = events["session_id"].where(events["session_id"].notna(), key)
    per = events.assign(session_key=key).groupby(["user_id", "session_key"])
    out = per["us"].agg(first="min", last="max", events="count").reset_index()
    out["duration_seconds"] = (out["last"] - out["first"]) // 1_000_000
    out = out.rename(columns={"first": "start_us", "last": "end_us"})
    return out.sort_values(["user_id", "session_key"])


@pytest.mark.parametrize("gap,source_ids", [(30, False), (5, False), (30, True)])
def test_session_stats_match_pandas(
    sim_ws: Workspace, events: pd.DataFrame, gap: float, source_ids: bool
) -> None:
    expected = pandas_sessions(events, gap, source_ids).reset_index(drop=True)
    with duckdb_tables(sim_ws) as tables:
        got = session_stats(tables.events(), gap, source_ids).execute()
    got = got.sort_values(["user_id", "session_key"]).reset_index(drop=True)
    assert len(got) == len(expected) > 1000
    for column in ("user_id", "session_key", "events", "duration_seconds"):
        assert got[column].tolist() == expected[column].tolist(), column
    for column in ("start", "end"):  # the first and the last event's instant, to the microsecond
        us = (got[column] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
        assert us.tolist() == expected[f"{column}_us"].tolist(), column


def test_gap_sessions_counts_and_numbers_agree(sim_ws: Workspace, events: pd.DataFrame) -> None:
    gap = events.groupby("user_id")["us"].diff()
    new = (gap.isna() | (gap > 1800e6)).astype(int)
    expected = new.groupby(events["user_id"]).sum()
    number = new.groupby(events["user_id"]).cumsum()
    with duckdb_tables(sim_ws) as tables:
        e = tables.events().filter(tables.events().user_id.notnull())
        counts = sessions_per_user(e).execute().set_index("user_id")["sessions"].sort_index()
        g = gap_sessions(e).execute()
        labelled = sessionize(e, source_ids=False).select("user_id", "event_id", "session_number")
        labelled = labelled.execute()
    assert counts.to_dict() == expected.to_dict()
    assert len(g) == int(expected.sum())
    per_user = g.groupby("user_id")["session_number"].agg(["min", "max", "count"])
    assert (per_user["min"] == 1).all() and (per_user["max"] == per_user["count"]).all()
    assert g["events"].sum() == len(events)
    mine = labelled.set_index("event_id")["session_number"]
    theirs = pd.Series(number.to_numpy(), index=events["event_id"])
    assert (mine.loc[theirs.index].to_numpy() == theirs.to_numpy()).all()


def test_epoch_helpers_read_the_stored_instant() -> None:
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'Asia/Shanghai'")  # a local zone must not shift the epoch
    stamps = pd.to_datetime(
        ["1970-01-01 00:00:00.5", "2025-03-30 01:59:59.999999", "2025-03-31 23:00:00.000000"],
        utc=True,
    )
    t = con.create_table("e", pd.DataFrame({"ts": stamps}))
    got = t.select(us=epoch_us(t.ts), s=epoch_seconds(t.ts)).execute()
    expected_us = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    assert got["us"].tolist() == list(expected_us)
    assert got["s"].tolist() == list(np.asarray(expected_us) // 1_000_000)
