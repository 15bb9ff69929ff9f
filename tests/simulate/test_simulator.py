"""The synthetic shop: deterministic, realistic in shape, with recoverable planted truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, query, scalar


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return simulate_shop(SimulationConfig(users=6000, days=60, seed=7))


def test_same_seed_same_shop_other_seed_other_shop() -> None:
    a = simulate_shop(SimulationConfig(users=200, days=20, seed=3))
    b = simulate_shop(SimulationConfig(users=200, days=20, seed=3))
    c = simulate_shop(SimulationConfig(users=200, days=20, seed=4))
    assert a.events.equals(b.events)
    assert not a.events[["user_id", "item_id"]].equals(c.events[["user_id", "item_id"]])


def test_funnel_shape_and_seasonality(shop) -> None:  # type: ignore[no-untyped-def]
    counts = shop.events["event_type"].value_counts()
    assert counts["view"] > counts["cart"] > counts["purchase"] > counts["refund"] > 0
    assert {"search", "favorite", "remove_cart"} <= set(counts.index)
    views = shop.events[shop.events["event_type"] == "view"]
    weekend = views["ts"].dt.day_of_week.isin([5, 6]).mean()
    assert weekend > 2 / 7 + 0.02  # weekends are busier
    hours = views["ts"].dt.hour.value_counts(normalize=True)
    assert hours.max() > 2.0 / 24  # a clear daily peak, not uniform
    buyers = shop.events[shop.events["event_type"] == "purchase"].groupby("user_id")["order_id"]
    assert (buyers.nunique() >= 2).mean() > 0.2  # repeat buyers exist


def test_catalogue_is_bilingual(shop) -> None:  # type: ignore[no-untyped-def]
    assert shop.items["title_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    assert shop.items["title"].str.match(r"^[\x20-\x7e]+$").all()
    assert shop.items["category"].nunique() >= 8


def test_planted_uplift_is_recovered(shop) -> None:  # type: ignore[no-untyped-def]
    a = shop.campaign_assignments
    treated, control = a[a["arm"] == "email"], a[a["arm"] == "control"]
    diff = treated["converted"].mean() - control["converted"].mean()
    se = math.sqrt(
        treated["converted"].var() / len(treated) + control["converted"].var() / len(control)
    )
    planted = shop.truth["campaign"]["planted_ate"]
    assert abs(diff - planted) < 3 * se
    assert diff > 2 * se  # the effect is real and detectable


def test_fraud_rings_share_devices(shop) -> None:  # type: ignore[no-untyped-def]
    fraud = set(
        shop.labels.query("name == 'fraud' and subject_type == 'user' and value == '1'")[
            "subject_id"
        ]
    )
    assert len(fraud) == shop.truth["fraud"]["users"] > 0
    orders = shop.orders
    fraud_orders = orders[orders["user_id"].isin(fraud)]
    normal_orders = orders[~orders["user_id"].isin(fraud)]
    per_device = orders.groupby("device_id")["user_id"].nunique()
    assert per_device[fraud_orders["device_id"]].min() >= 2
    assert per_device[normal_orders["device_id"]].max() == 1
    assert fraud_orders["amount"].mean() > 3 * normal_orders["amount"].mean()


def test_tickets_in_two_languages(shop) -> None:  # type: ignore[no-untyped-def]
    t = shop.tickets
    assert set(t["language"]) == {"en", "zh"}
    assert t[t["language"] == "zh"]["text"].str.contains(r"[\u4e00-\u9fff]").all()
    assert t["order_id"].isin(shop.orders["order_id"]).all()


@pytest.mark.slow
def test_written_shop_reconciles_and_keeps_truth(tmp_path: Path) -> None:
    shop = simulate_shop(SimulationConfig(users=500, days=30, seed=11))
    ws = Workspace(tmp_path / "ws")
    result = write_shop(ws, shop, key=TEST_KEY)
    for table, report in result["ingest"].items():
        assert report["rows_in"] == len(getattr(shop, table))
        assert report["rows_loaded"] == report["rows_in"], table
    assert scalar(ws, "SELECT count(*) FROM events") == len(shop.events)
    assert scalar(ws, "SELECT count(*) FROM labels WHERE name = 'segment'") == len(shop.users)
    assert scalar(ws, "SELECT count(*) FROM tickets") == len(shop.tickets)
    emails = shop.users["email"].head(20).tolist()
    assert not any(
        scalar(ws, "SELECT count(*) FROM users WHERE attributes::VARCHAR LIKE ?", [f"%{e}%"])
        for e in emails
    )
    truth = json.loads((Path(result["folder"]) / "truth.json").read_text())
    assert truth["campaign"]["planted_ate"] == pytest.approx(shop.truth["campaign"]["planted_ate"])
    amounts = query(
        ws,
        "SELECT o.amount, s.amount FROM orders o JOIN (SELECT order_id, "
        "sum(quantity * price) amount FROM events WHERE event_type='purchase' "
        "GROUP BY 1) s USING (order_id)",
    )
    assert np.allclose([a for a, _ in amounts], [b for _, b in amounts])
    again = write_shop(ws, shop, key=TEST_KEY)  # same seed: adds nothing
    assert all(r["rows_loaded"] == 0 for r in again["ingest"].values())
