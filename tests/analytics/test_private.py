"""DP releases on a small shop: keys, post-processing and bounds, checked at an epsilon so
large that the discrete Laplace noise on counts is 0 except with probability ~1e-200 (scale at
most 1/500), and the budget charged per release."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shopmind.analytics.funnel import FunnelQuery, funnel
from shopmind.analytics.private import (
    RFM_KEYS,
    release_funnel,
    release_retention,
    release_segments,
    segment_records,
)
from shopmind.analytics.retention import retention
from shopmind.analytics.rfm import rfm
from shopmind.errors import AnalyticsError
from shopmind.features.tables import duckdb_tables
from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from shopmind.store.privacy_budget import BudgetExceededError, set_budget, status
from tests.conftest import options

EXACT = 2000.0  # epsilon at which integer counts come back exact (see module docstring)


def build_shop(root: Path, users: int = 120, seed: int = 7) -> Workspace:
    """A generic events file: views, carts, purchases and a few refunds over six months."""
    rng = random.Random(seed)
    lines = ["user_id,item_id,event_type,ts,quantity,price,order_id"]
    start = datetime(2011, 1, 3, 9)
    for u in range(users):
        day = rng.randrange(0, 150)
        for visit in range(rng.randint(1, 6)):
            ts = start + timedelta(days=day + 9 * visit, minutes=rng.randrange(600))
            item = f"i{rng.randrange(30)}"
            price = round(rng.uniform(1, 400), 2)
            lines.append(f"u{u},{item},view,{ts:%Y-%m-%dT%H:%M:%SZ},,{price},")
            if rng.random() < 0.6:
                ts += timedelta(minutes=3)
                lines.append(f"u{u},{item},cart,{ts:%Y-%m-%dT%H:%M:%SZ},1,{price},")
                if rng.random() < 0.7:
                    ts += timedelta(minutes=5)
                    qty = rng.randint(1, 4)
                    order = f"o{u}_{visit}"
                    lines.append(
                        f"u{u},{item},purchase,{ts:%Y-%m-%dT%H:%M:%SZ},{qty},{price},{order}"
                    )
                    if rng.random() < 0.1:
                        ts += timedelta(days=2)
                        lines.append(
                            f"u{u},{item},refund,{ts:%Y-%m-%dT%H:%M:%SZ},1,{price},{order}"
                        )
    path = root / "shop.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    ws = Workspace(root / "ws")
    ingest_file(ws, path, options("generic", pseudonymize=False, currency="EUR"))
    return ws


@pytest.fixture
def shop(tmp_path: Path) -> Workspace:
    ws = build_shop(tmp_path)
    set_budget(ws, 100_000.0, principal="test")
    return ws


def test_segment_release_keys_counts_and_clamped_sums(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        truth = {s["name"]: s["customers"] for s in rfm(tables)["segments"]}
        records = segment_records(tables)
    result = release_segments(shop, EXACT, principal="test", bounds=(0.0, 300.0))
    assert [r["segment"] for r in result["rows"]] == list(RFM_KEYS)  # public keys, all of them
    assert {r["segment"]: r["customers"] for r in result["rows"] if r["customers"]} == truth
    clamped = {k: 0.0 for k in RFM_KEYS}
    for key, net in records:
        clamped[key] += min(max(net, 0.0), 300.0)
    sum_scale = result["noise"]["net_revenue"]["scale"]
    assert sum_scale == pytest.approx(300.0 / (EXACT / 2))
    for row in result["rows"]:  # Laplace(0.3): 60 scales is a 1e-26 tail
        assert row["net_revenue"] == pytest.approx(clamped[row["segment"]], abs=60 * sum_scale)
    assert result["currency"] == "EUR" and result["epsilon"] == pytest.approx(EXACT)
    assert result["bounds"]["net_revenue_per_customer"] == [0.0, 300.0]


def test_funnel_release_counts_each_user_once_per_step(shop: Workspace) -> None:
    query = FunnelQuery(("view", "cart", "purchase"))
    with duckdb_tables(shop) as tables:
        truth = [s["users"] for s in funnel(tables, query)["steps"]]
    result = release_funnel(shop, query, EXACT, principal="test")
    assert [s["users"] for s in result["steps"]] == truth
    assert result["noise"]["furthest_step"]["sensitivity"] == 1.0
    assert result["noise"]["furthest_step"]["scale"] == pytest.approx(1 / EXACT)


def test_retention_release_matches_the_exact_matrix(shop: Workspace) -> None:
    with duckdb_tables(shop) as tables:
        truth = retention(tables, "purchase", "purchase", "month", periods=3)
    result = release_retention(shop, EXACT, principal="test", period="month", periods=3)
    assert result["noise"]["cells"]["sensitivity"] == 4.0  # size + 3 later periods
    released = {c["cohort"]: c for c in result["cohorts"]}
    for cohort in truth["cohorts"]:
        assert released[cohort["cohort"]]["size"] == cohort["size"]
        assert released[cohort["cohort"]]["retained"] == cohort["retained"]


def test_each_release_is_charged_and_refused_beyond_the_budget(tmp_path: Path) -> None:
    ws = build_shop(tmp_path, users=40)
    set_budget(ws, 1.0, principal="test")
    release_funnel(ws, FunnelQuery(("view", "purchase")), 0.4, principal="test")
    release_segments(ws, 0.4, principal="test")
    with pytest.raises(BudgetExceededError, match="Refused"):
        release_retention(ws, 0.4, principal="test")
    state = status(ws)
    assert state["epsilon_spent"] == pytest.approx(0.8)
    assert [e["kind"] for e in state["ledger"]] == ["segments", "funnel"]


def test_country_segments_need_public_keys(shop: Workspace) -> None:
    with pytest.raises(AnalyticsError, match="countries named up front"):
        release_segments(shop, 1.0, principal="test", by="country")


@pytest.mark.realdata
@pytest.mark.slow
def test_online_retail_segment_counts_at_epsilon_1(retail_ws: Workspace, tmp_path: Path) -> None:
    """Scale 2 (epsilon 0.5 for counts): |noise| > 50 has probability e^-25 per segment."""
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(retail_ws.root, ws.root)  # the session's workspace stays unspent
    with duckdb_tables(ws) as tables:
        truth = {s["name"]: s["customers"] for s in rfm(tables)["segments"]}
    result = release_segments(ws, 1.0, principal="test")
    assert result["currency"] == "GBP" and result["noise"]["customers"]["scale"] == 2.0
    for row in result["rows"]:
        assert abs(row["customers"] - truth.get(row["segment"], 0)) <= 50
    assert status(ws)["epsilon_spent"] == 1.0


def test_noisy_counts_and_sums_are_never_negative_and_say_they_are_clamped(
    tmp_path: Path,
) -> None:
    """Post-processing costs no privacy: a count below 0 or a sum of values clamped to
    [0, upper] below 0 is published as 0; the release says the sum is of clamped values."""
    from shopmind.analytics.private import release_segments
    from shopmind.store.privacy_budget import set_budget

    workspace = build_shop(tmp_path, users=40)
    set_budget(workspace, 10.0, principal="test")
    rows = []
    for _ in range(5):  # epsilon 0.02: noise scale 100 on counts, 500,000 on sums
        result = release_segments(workspace, 0.02, principal="test")
        rows += result["rows"]
    assert all(r["customers"] >= 0 and r["net_revenue"] >= 0 for r in rows)
    assert any(r["customers"] == 0 for r in rows)  # the floor was needed
    assert "clamped to [0, 5000]" in result["note"]
