"""A randomised e-mail campaign with a planted, segment-dependent uplift.

Users who signed up before the send day are split 50/50 into ``email`` and ``control``.
A user converts within ``WINDOW_DAYS`` with probability ``p0 + tau * treated``; ``p0`` and
``tau`` depend on the planted segment (persuadables, sure things, a sleeping-dog segment).
Conversions appear as purchase sessions in the event log (source 'email' when treated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopmind.simulate.behaviour import _items_for
from shopmind.simulate.catalogue import Catalogue
from shopmind.simulate.population import Population

CAMPAIGN_ID = "email_campaign_1"
WINDOW_DAYS = 14
# segment: (baseline conversion p0, planted uplift tau)
EFFECTS: dict[str, tuple[float, float]] = {
    "loyal_high_value": (0.30, -0.02),
    "bargain_hunter": (0.08, 0.10),
    "casual_browser": (0.04, 0.03),
    "new_explorer": (0.10, 0.06),
    "churner": (0.03, 0.01),
}


@dataclass(frozen=True)
class Campaign:
    assignments: pd.DataFrame  # campaign_id, user_id, arm, sent_ts, converted, revenue
    events: pd.DataFrame  # conversion sessions (same layout as behaviour frames)
    tau: np.ndarray  # planted uplift per assigned user
    p0: np.ndarray
    send_day: float


def run_campaign(
    pop: Population, cat: Catalogue, days: int, start: pd.Timestamp, rng: np.random.Generator
) -> Campaign:
    send_day = float(int(days * 0.6)) + 10 / 24
    eligible = np.flatnonzero(pop.active_from < send_day)
    treated = rng.random(eligible.size) < 0.5
    seg = pop.segment[eligible]
    p0 = np.array([EFFECTS[s][0] for s in seg])
    tau = np.array([EFFECTS[s][1] for s in seg])
    converted = rng.random(eligible.size) < np.clip(p0 + tau * treated, 0, 1)
    window = min(WINDOW_DAYS, days - send_day)
    conv_users = eligible[converted]
    when = send_day + rng.uniform(0.01, window, conv_users.size)
    category = np.array(
        [rng.choice(pop.taste.shape[1], p=pop.taste[u]) for u in conv_users], dtype=np.int64
    )
    item = _items_for(category, cat, rng)
    price = cat.items["price"].to_numpy()[item]
    source = np.where(treated[converted], "email", "web")
    session = -1 - np.arange(conv_users.size)  # negative ids: campaign sessions
    frames = []
    for event_type, offset in (("view", 0.0), ("cart", 60.0), ("purchase", 150.0)):
        frame = pd.DataFrame(
            {
                "user": conv_users,
                "session": session,
                "item": item,
                "event_type": event_type,
                "day": when + offset / 86400,
                "source": source,
                "quantity": np.nan if event_type == "view" else 1.0,
                "price": np.nan if event_type == "view" else price,
                "order_id": None,
                "query": None,
            }
        )
        if event_type == "purchase":
            frame["order_id"] = [f"c{i:07d}" for i in range(conv_users.size)]
        frames.append(frame)
    revenue = np.zeros(eligible.size)
    revenue[converted] = price
    assignments = pd.DataFrame(
        {
            "campaign_id": CAMPAIGN_ID,
            "user_id": pop.users["user_id"].to_numpy()[eligible],
            "arm": np.where(treated, "email", "control"),
            "sent_ts": start + pd.Timedelta(days=send_day),
            "converted": converted,
            "revenue": revenue,
        }
    )
    return Campaign(assignments, pd.concat(frames, ignore_index=True), tau, p0, send_day)
