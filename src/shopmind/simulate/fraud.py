"""Fraud rings: fresh accounts sharing devices and IPs that buy expensive goods fast.

Each ring of ``RING_SIZE`` accounts signs up inside the window and places several orders of
high-priced electronics within two days, in bulk quantities, paid by card; some are refunded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.simulate.catalogue import Catalogue

RING_SIZE = 5


def fraud_rings(
    n_users: int,
    first_index: int,
    cat: Catalogue,
    days: int,
    start: pd.Timestamp,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fraud users, fraud events) for about 1% of ``n_users``."""
    n_rings = max(1, n_users // (100 * RING_SIZE))
    ring = np.repeat(np.arange(n_rings), RING_SIZE)
    ids = [f"u{first_index + i:07d}" for i in range(ring.size)]
    signup = rng.uniform(0, max(days - 3, 1), n_rings)[ring] + rng.uniform(0, 0.2, ring.size)
    users = pd.DataFrame(
        {
            "user_id": ids,
            "signup_ts": start + pd.to_timedelta(signup, unit="D"),
            "country": "US",
            "gender": rng.choice(["F", "M"], ring.size),
            "age": rng.integers(18, 30, ring.size),
            "email": [f"deal{rng.integers(1_000_000)}@mailinator.test" for _ in ids],
            "phone": [f"+1 555 01{i % 10000:04d}" for i in range(ring.size)],
            "language": "en",
            "device": "desktop",
            "acquisition": "ads",
            "ring": ring,
        }
    )
    expensive = np.flatnonzero(cat.items["category"].to_numpy() == "electronics")
    expensive = expensive[np.argsort(-cat.items["price"].to_numpy()[expensive])][:10]
    n_orders = rng.integers(2, 7, ring.size)
    user = np.repeat(np.arange(ring.size), n_orders)
    when = signup[user] + rng.uniform(0.01, 2.0, user.size)
    item = rng.choice(expensive, user.size)
    price = cat.items["price"].to_numpy()[item]
    quantity = rng.integers(2, 6, user.size).astype(float)
    order = [f"f{i:07d}" for i in range(user.size)]
    frames = []
    for event_type, offset in (("view", 0.0), ("cart", 8.0), ("purchase", 20.0)):
        frames.append(
            pd.DataFrame(
                {
                    "user": first_index + user,
                    "session": -10_000_000 - np.arange(user.size),
                    "item": item,
                    "event_type": event_type,
                    "day": when + offset / 86400,
                    "source": "web",
                    "quantity": np.nan if event_type == "view" else quantity,
                    "price": np.nan if event_type == "view" else price,
                    "order_id": order if event_type == "purchase" else None,
                    "query": None,
                }
            )
        )
    refunded = rng.random(user.size) < 0.3
    refunds = frames[-1][refunded].copy()
    refunds["event_type"] = "refund"
    refunds["day"] = np.minimum(refunds["day"] + rng.uniform(1, 5, refunded.sum()), days - 1e-4)
    frames.append(refunds)
    return users, pd.concat(frames, ignore_index=True)
