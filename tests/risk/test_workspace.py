"""Workspace mode on a small simulated shop: decision-time features, training, scoring,
rings, the review queue, the real-time scorer (same features as the batch Ibis code) and
the API router."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopmind.risk.review import decide, list_reviews
from shopmind.risk.scorer import OrderInput, RiskScorer
from shopmind.risk.workspace import (
    WorkspaceRisk,
    feature_frame,
    list_rings,
    score_workspace,
    train_workspace,
)
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, run_cli


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("risk") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=1500, days=30, seed=5)), key=TEST_KEY)
    _add_refund_and_guest_rows(ws)
    train_workspace(ws)
    return ws


def _add_refund_and_guest_rows(ws: Workspace) -> None:
    """A refund row (status 'refund', negative amount) and a guest order (no user id) early
    in the busiest account's history: neither is an order of that account, in the batch
    features and in the live scorer's replay alike."""
    from datetime import timedelta

    from shopmind.ingest.context import IngestOptions
    from shopmind.ingest.pipeline import ingest_file

    with ws.connect(read_only=True) as con:
        row = con.execute(
            "SELECT user_id, min(ts) FROM orders WHERE user_id IS NOT NULL "
            "GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"
        ).fetchone()
    assert row is not None
    user, first = row
    at = (first + timedelta(minutes=1)).isoformat()
    path = ws.root.parent / "extra_orders.csv"
    path.write_text(
        "order_id,user_id,ts,amount,status\n"
        f"r_extra,{user},{at},-50,refund\n"
        f"g_extra,,{at},30,completed\n"
    )
    options = IngestOptions(format="generic", table="orders", pseudonymize=False, key=TEST_KEY)
    ingest_file(ws, path, options)


def test_features_never_look_ahead(shop: Workspace) -> None:
    frame, links, _ = feature_frame(shop)
    assert set(links) == {"device", "ip"}
    first = frame.groupby("user_id").head(1)
    assert (first["previous_orders"] == 0).all() and (first["user_orders_7d"] == 0).all()
    ring = frame[frame["user_id"].isin(frame.loc[frame["ring_size"] >= 5, "user_id"])]
    assert (ring["device_accounts"] <= 5).all()
    # the earliest order on a device sees no earlier order on it
    by_device = frame.sort_values("_s").groupby("device_orders_7d").size()
    assert by_device.index.min() == 0


def test_train_and_score(shop: Workspace) -> None:
    risk = WorkspaceRisk.load(shop)
    assert risk.model.mode_ in ("supervised", "blend")
    scores, queued = score_workspace(shop, queue=True)
    frame, _, _ = feature_frame(shop)
    labels = frame.set_index("order_id").loc[scores["order_id"], "label"].to_numpy()
    from shopmind.models.risk import risk_metrics

    known = ~np.isnan(labels)  # the added guest order has no label
    assert known.sum() >= len(labels) - 1
    assert risk_metrics(labels[known], scores["risk_score"].to_numpy()[known])["roc_auc"] > 0.95
    assert "r_extra" not in set(scores["order_id"])  # a refund row is not scored
    assert queued == int((scores["decision"] != "allow").sum()) > 0
    again = score_workspace(shop, queue=True)[1]
    assert again == 0  # already queued orders are not queued twice


def test_rings_recover_planted_members(shop: Workspace) -> None:
    result = list_rings(shop)
    assert result["recovery"]["precision"] >= 0.9
    assert result["recovery"]["recall"] >= 0.9


def test_review_decisions_become_labels(shop: Workspace) -> None:
    open_ = list_reviews(shop, "open", limit=5)
    assert open_
    review = open_[0]["review_id"]
    result = decide(shop, review, confirm=False, by="ana")
    assert result["status"] == "cleared"
    with shop.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT value FROM labels WHERE source = 'review' AND subject_id = ?",
            [result["entity_id"]],
        ).fetchall()
    assert rows == [("0",)]
    decide(shop, review, confirm=True, by="ana")  # a second decision replaces the label
    with shop.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT value FROM labels WHERE source = 'review' AND subject_id = ?",
            [result["entity_id"]],
        ).fetchall()
    assert rows == [("1",)]
    from shopmind.risk.review import ReviewError

    with pytest.raises(ReviewError, match="No review"):
        decide(shop, "rv_nope", confirm=True, by="ana")


def test_real_time_features_equal_batch_features(shop: Workspace) -> None:
    risk = WorkspaceRisk.load(shop)
    frame, _, _ = feature_frame(
        shop, risk.links, risk.label_delay_days, risk.max_link_accounts, risk.hubs
    )
    cut = float(frame["_s"].quantile(0.85))
    scorer = RiskScorer.from_workspace(shop, until=cut)
    with shop.connect(read_only=True) as con:
        lines = con.execute(
            "SELECT order_id, quantity, price FROM events WHERE event_type = 'purchase'"
        ).df()
        links = (
            con.execute(
                "SELECT order_id, json_extract_string(attributes, '$.device_id_hash') AS device, "
                "json_extract_string(attributes, '$.ip_address_hash') AS ip FROM orders"
            )
            .df()
            .set_index("order_id")
        )
    basket = {
        k: list(zip(g["quantity"], g["price"], strict=True)) for k, g in lines.groupby("order_id")
    }
    rest = frame[frame["_s"] >= cut].rename(columns={"_s": "seconds"})
    compared = 0
    for row in rest.itertuples(index=False):
        order = OrderInput(
            row.order_id,
            row.user_id,
            row.seconds,
            row.amount,
            {k: links.loc[row.order_id, k] for k in ("device", "ip")},
            basket.get(row.order_id, []),
        )
        online = scorer.features(order)
        for name, value in online.items():
            batch = getattr(row, name)
            if pd.isna(batch):
                assert math.isnan(value), (row.order_id, name)
            else:
                assert value == pytest.approx(batch, rel=1e-6, abs=1e-6), (row.order_id, name)
            compared += 1
        result = scorer.score(order)
        assert 0 <= result["risk_score"] <= 100
    assert compared > 100


def test_api_router(shop: Workspace) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from shopmind.serving.routes import risk

    app = FastAPI()
    app.include_router(risk.router, prefix="/v1")
    risk.install(app, shop)
    client = TestClient(app)
    body = {
        "order_id": "n1",
        "user_id": "u0000001",
        "amount": 30.0,
        "ts": "2025-02-01T10:00:00+00:00",
        "links": {"device": "dx", "ip": "ix"},
        "items": [{"quantity": 1, "price": 30.0}],
    }
    ok = client.post("/v1/risk/score", json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["decision"] in ("allow", "review", "block") and ok.json()["reasons"]
    missing = client.post("/v1/risk/score", json={"order_id": "n2", "amount": 3})
    assert missing.status_code == 422 and "user_id" in missing.text
    naive = client.post("/v1/risk/score", json={**body, "ts": "2025-02-01T10:00:00"})
    assert naive.status_code == 422
    assert (
        client.post("/v1/risk/events", json={"user_id": "u1", "event_type": "cart"}).status_code
        == 200
    )
    assert client.get("/v1/risk/reviews?status=open").status_code == 200
    assert client.post("/v1/risk/reviews/rv_nope/confirm", json={"by": "ana"}).status_code == 404


@pytest.mark.slow
def test_cli_workspace_mode(shop: Workspace, tmp_path: Path) -> None:
    ws = str(shop.root)
    scored = run_cli("--workspace", ws, "risk", "score", "--out", str(tmp_path / "s.csv"), "--json")
    assert scored.returncode == 0, scored.stderr
    out = pd.read_csv(tmp_path / "s.csv")
    assert list(out.columns[:5]) == ["order_id", "user_id", "ts", "risk_score", "decision"]
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: rings\n    when: ring_size >= 4\n    action: block\n")
    bt = run_cli("--workspace", ws, "risk", "backtest", "--rules", str(rules), "--json")
    assert bt.returncode == 0, bt.stderr
    assert bt.json()["recall"] > 0.8 and bt.json()["rules"][0]["line"] == 2
    rules.write_text("rules:\n  - name: rings\n    when: ring_sise >= 4\n    action: block\n")
    bad = run_cli("--workspace", ws, "risk", "backtest", "--rules", str(rules))
    assert bad.returncode == 2 and "line 3" in bad.stderr and "ring_sise" in bad.stderr
    rings = run_cli("--workspace", ws, "risk", "rings", "--json")
    assert rings.returncode == 0 and rings.json()["rings"]
    assert np.isfinite(rings.json()["recovery"]["precision"])


def test_guest_orders_have_no_history_and_refunds_are_not_scored(tmp_path: Path) -> None:
    """Orders without a user id are not one account that placed them all, and a refund row
    (status 'refund') is not an order to score."""
    from shopmind.ingest.context import IngestOptions
    from shopmind.ingest.pipeline import ingest_file

    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,user_id,ts,amount,status\n"
        "o1,u1,2025-01-01T10:00:00Z,10,completed\n"
        "o2,u1,2025-01-01T11:00:00Z,12,completed\n"
        "g1,,2025-01-01T10:30:00Z,20,completed\n"
        "g2,,2025-01-01T10:40:00Z,25,completed\n"
        "g3,,2025-01-01T10:50:00Z,30,completed\n"
        "r1,u1,2025-01-01T12:00:00Z,-10,refund\n"
    )
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, IngestOptions(format="generic", table="orders", pseudonymize=False))
    frame, _, _ = feature_frame(ws)
    rows = frame.set_index("order_id")
    assert sorted(rows.index) == ["g1", "g2", "g3", "o1", "o2"]
    assert (rows.loc[["g1", "g2", "g3"], "previous_orders"] == 0).all()
    assert (rows.loc[["g1", "g2", "g3"], "user_orders_24h"] == 0).all()
    assert rows.loc["o2", "previous_orders"] == 1 and rows.loc["o2", "user_orders_24h"] == 1
