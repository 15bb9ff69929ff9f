"""Assemble the simulated shop: population, catalogue, sessions, campaign, fraud, tickets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopmind.simulate.behaviour import simulate_sessions
from shopmind.simulate.campaign import CAMPAIGN_ID, EFFECTS, WINDOW_DAYS, run_campaign
from shopmind.simulate.catalogue import CATEGORIES, make_catalogue
from shopmind.simulate.fraud import fraud_rings
from shopmind.simulate.population import make_population
from shopmind.simulate.tickets import make_tickets


@dataclass(frozen=True)
class SimulationConfig:
    """users: organic users; days: length of the log; items: 0 = users // 5 (100 .. 20000)."""

    users: int = 10_000
    days: int = 90
    seed: int = 0
    start: str = "2025-01-01"
    items: int = 0
    identity: float = 0.0  # share of organic users with more accounts (simulate/identity.py)

    def n_items(self) -> int:
        return self.items or int(min(max(self.users // 5, 100), 20_000))


@dataclass
class SimulatedShop:
    config: SimulationConfig
    events: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    orders: pd.DataFrame
    labels: pd.DataFrame
    campaign_assignments: pd.DataFrame
    tickets: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)
    identity_links: pd.DataFrame | None = None  # login links (id_a, id_b) when planted


def simulate_shop(config: SimulationConfig) -> SimulatedShop:
    """Generate the whole shop in memory (deterministic for a given config)."""
    if config.users < 10 or config.days < 7:
        from shopmind.errors import ShopmindError

        raise ShopmindError(
            f"--users {config.users} --days {config.days} is too small to simulate a shop.",
            hint="Use at least --users 10 --days 7.",
        )
    rng = np.random.default_rng(config.seed)
    start = pd.Timestamp(config.start, tz="UTC")
    catalogue = make_catalogue(config.n_items(), rng)
    pop = make_population(config.users, config.days, len(CATEGORIES), start, rng)
    organic = simulate_sessions(pop, catalogue, start, config.days, rng)
    campaign = run_campaign(pop, catalogue, config.days, start, rng)
    fraud_users, fraud_events = fraud_rings(
        config.users, config.users, catalogue, config.days, start, rng
    )
    users = pd.concat([pop.users, fraud_users.drop(columns="ring")], ignore_index=True)
    events = _events_frame(
        pd.concat([organic, campaign.events, fraud_events], ignore_index=True),
        users,
        catalogue.items,
        start,
    )
    devices = _devices(users, fraud_users, rng)
    orders = _orders(events, devices)
    is_fraud_user = np.zeros(len(users), dtype=bool)
    is_fraud_user[config.users :] = True
    segment = np.concatenate([pop.segment, np.full(len(fraud_users), "fraud_ring")])
    labels = _labels(users, segment, campaign, orders, is_fraud_user)
    languages = dict(zip(users["user_id"], users["language"], strict=True))
    tickets = make_tickets(orders, languages, config.days, start, rng)
    truth = _truth(config, segment, campaign, fraud_users, orders, events)
    shop = SimulatedShop(
        config, events, users, catalogue.items, orders, labels, campaign.assignments, tickets, truth
    )
    if config.identity > 0:
        from shopmind.simulate.identity import plant_identities

        shop = plant_identities(shop, config.identity)
    return shop


def _events_frame(
    raw: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame, start: pd.Timestamp
) -> pd.DataFrame:
    raw = raw.sort_values("day", kind="stable").reset_index(drop=True)
    item_ids = items["item_id"].to_numpy()
    item = raw["item"].to_numpy()
    return pd.DataFrame(
        {
            "event_id": "e" + pd.Series(np.arange(len(raw))).astype(str).str.zfill(9),
            "user_id": users["user_id"].to_numpy()[raw["user"].to_numpy()],
            "session_id": "s" + raw["session"].astype(str),
            "item_id": np.where(item >= 0, item_ids[np.maximum(item, 0)], None),
            "event_type": raw["event_type"].to_numpy(),
            "ts": start + pd.to_timedelta(raw["day"].to_numpy(), unit="D"),
            "quantity": raw["quantity"].to_numpy(dtype=float),
            "price": raw["price"].to_numpy(dtype=float),
            "order_id": raw["order_id"].to_numpy(),
            "query": raw["query"].to_numpy(),
            "source": raw["source"].to_numpy(),
        }
    )


def _devices(
    users: pd.DataFrame, fraud_users: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(users)
    device = np.array([f"dev{v:08x}" for v in rng.integers(0, 2**32, n)], dtype=object)
    ip = np.array([f"10.{a}.{b}.{c}" for a, b, c in rng.integers(0, 255, (n, 3))], dtype=object)
    first = n - len(fraud_users)
    ring = fraud_users["ring"].to_numpy()
    device[first:] = np.array([f"devring{r:04d}" for r in ring])
    ip[first:] = np.array([f"203.0.113.{r % 250}" for r in ring])
    payment = rng.choice(["card", "alipay", "wechat_pay", "paypal"], n, p=[0.4, 0.25, 0.25, 0.1])
    payment[first:] = "card"
    return pd.DataFrame(
        {
            "user_id": users["user_id"],
            "device_id": device,
            "ip_address": ip,
            "payment_method": payment,
        }
    )


def _orders(events: pd.DataFrame, devices: pd.DataFrame) -> pd.DataFrame:
    purchases = events[events["event_type"] == "purchase"]
    orders = (
        purchases.assign(amount=purchases["quantity"] * purchases["price"])
        .groupby("order_id", sort=True)
        .agg(
            user_id=("user_id", "first"),
            ts=("ts", "min"),
            amount=("amount", "sum"),
            source=("source", "first"),
        )
        .reset_index()
    )
    refunds = events[events["event_type"] == "refund"]
    refunded = (
        refunds.assign(value=refunds["quantity"] * refunds["price"])
        .groupby("order_id")["value"]
        .sum()
    )
    value = orders["order_id"].map(refunded).fillna(0.0)
    orders["status"] = np.where(
        value <= 0,
        "completed",
        np.where(value >= orders["amount"] - 0.005, "refunded", "partially_refunded"),
    )
    orders["currency"] = "CNY"
    return orders.merge(devices, on="user_id", how="left")


def _labels(
    users: pd.DataFrame,
    segment: np.ndarray,
    campaign: Any,
    orders: pd.DataFrame,
    is_fraud_user: np.ndarray,
) -> pd.DataFrame:
    fraud_users = set(users["user_id"].to_numpy()[is_fraud_user])
    parts = [
        pd.DataFrame(
            {
                "subject_type": "user",
                "subject_id": users["user_id"],
                "name": "segment",
                "value": segment,
            }
        ),
        pd.DataFrame(
            {
                "subject_type": "user",
                "subject_id": campaign.assignments["user_id"],
                "name": "uplift",
                "value": campaign.tau.astype(str),
            }
        ),
        pd.DataFrame(
            {
                "subject_type": "user",
                "subject_id": users["user_id"],
                "name": "fraud",
                "value": is_fraud_user.astype(int).astype(str),
            }
        ),
        pd.DataFrame(
            {
                "subject_type": "order",
                "subject_id": orders["order_id"],
                "name": "fraud",
                "value": orders["user_id"].isin(fraud_users).astype(int).astype(str),
            }
        ),
    ]
    labels = pd.concat(parts, ignore_index=True)
    labels["source"] = "simulator"
    return labels


def _truth(
    config: SimulationConfig,
    segment: np.ndarray,
    campaign: Any,
    fraud_users: pd.DataFrame,
    orders: pd.DataFrame,
    events: pd.DataFrame,
) -> dict[str, Any]:
    arms = campaign.assignments["arm"].to_numpy()
    return {
        "config": asdict(config),
        "events": len(events),
        "segments": pd.Series(segment).value_counts().to_dict(),
        "campaign": {
            "campaign_id": CAMPAIGN_ID,
            "send_ts": campaign.assignments["sent_ts"].iloc[0].isoformat()
            if len(campaign.assignments)
            else None,
            "window_days": WINDOW_DAYS,
            "outcome": "converted (purchase attributed to the campaign window)",
            "planted_ate": float(campaign.tau.mean()) if campaign.tau.size else 0.0,
            "effects_by_segment": {k: {"p0": v[0], "uplift": v[1]} for k, v in EFFECTS.items()},
            "treated": int((arms == "email").sum()),
            "control": int((arms == "control").sum()),
        },
        "fraud": {
            "rings": int(fraud_users["ring"].nunique()),
            "users": len(fraud_users),
            "orders": int(orders["user_id"].isin(set(fraud_users["user_id"])).sum()),
        },
    }
