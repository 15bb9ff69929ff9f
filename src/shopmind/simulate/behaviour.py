"""Browsing sessions: view -> cart -> purchase funnels with time-of-day and weekly seasonality.

Everything is vectorised over sessions and views (numpy), so a million events take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.simulate.catalogue import CATEGORIES, Catalogue
from shopmind.simulate.population import Population

WEEKDAY_WEIGHT = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.35, 1.3])  # Monday .. Sunday
BASE_CART_RATE = 0.10
FAVORITE_RATE = 0.03
REMOVE_CART_RATE = 0.3
REFUND_RATE = 0.03
SEARCH_RATE = 0.25


def _choose_rows(cum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise categorical draw from cumulative probabilities (shape n x k)."""
    u = rng.random(cum.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), cum.shape[1] - 1)


def _session_days(
    pop: Population, user: np.ndarray, start: pd.Timestamp, rng: np.random.Generator
) -> np.ndarray:
    """Session start (fractional day) inside each user's active span, weekends busier."""
    lo, hi = pop.active_from[user], pop.active_to[user]
    day = lo + (hi - lo) * rng.random(user.size)
    for _ in range(4):  # thinning: redraw rejected days so weekdays follow WEEKDAY_WEIGHT
        weekday = (start.weekday() + np.floor(day).astype(int)) % 7
        reject = rng.random(user.size) > WEEKDAY_WEIGHT[weekday] / WEEKDAY_WEIGHT.max()
        day[reject] = lo[reject] + (hi[reject] - lo[reject]) * rng.random(reject.sum())
    hour = (pop.peak_hour[user] + rng.normal(0, 2.5, user.size)) % 24
    return np.floor(day) + hour / 24.0


def _items_for(categories: np.ndarray, cat: Catalogue, rng: np.random.Generator) -> np.ndarray:
    """An item index per requested category, drawn by popularity inside the category."""
    out = np.empty(categories.size, dtype=np.int64)
    for c in np.unique(categories):
        members = np.flatnonzero(cat.category_index == c)
        where = np.flatnonzero(categories == c)
        if members.size == 0:
            members = np.arange(len(cat.items))
        cum = np.cumsum(cat.popularity[members])
        out[where] = members[np.searchsorted(cum, rng.random(where.size) * cum[-1])]
    return out


def simulate_sessions(
    pop: Population, cat: Catalogue, start: pd.Timestamp, days: int, rng: np.random.Generator
) -> pd.DataFrame:
    """All organic browsing events, sorted by time."""
    span = np.maximum(pop.active_to - pop.active_from, 0)
    per_user = rng.poisson(pop.activity * span)
    user = np.repeat(np.arange(per_user.size), per_user)
    n_sessions = user.size
    session_start = _session_days(pop, user, start, rng)
    session_cat = _choose_rows(np.cumsum(pop.taste[user], axis=1), rng)
    source = np.where(
        pop.users["device"].to_numpy()[user] == "mobile",
        np.where(rng.random(n_sessions) < 0.7, "app", "web"),
        "web",
    )
    length = np.minimum(rng.geometric(0.2, n_sessions), 25)

    # views
    v_session = np.repeat(np.arange(n_sessions), length)
    v_user = user[v_session]
    v_cat = np.where(
        rng.random(v_session.size) < 0.85,
        session_cat[v_session],
        rng.integers(0, len(CATEGORIES), v_session.size),
    )
    v_item = _items_for(v_cat, cat, rng)
    gaps = rng.exponential(45.0, v_session.size)
    offset = np.cumsum(gaps)
    offset -= np.repeat(
        offset[np.cumsum(length) - length] - gaps[np.cumsum(length) - length], length
    )
    v_time = session_start[v_session] + offset / 86400.0

    # cart and purchase decisions
    prices = cat.items["price"].to_numpy()
    cat_mean = np.array([v[1] for v in CATEGORIES.values()])
    ratio = prices[v_item] / cat_mean[cat.category_index[v_item]]
    p_cart = np.clip(
        BASE_CART_RATE
        * pop.cart_mult[v_user]
        * np.exp(-pop.price_sensitivity[v_user] * (ratio - 1.0)),
        0.003,
        0.6,
    )
    carted = rng.random(v_session.size) < p_cart
    bought = carted & (rng.random(v_session.size) < pop.buy_prob[v_user])
    removed = carted & ~bought & (rng.random(v_session.size) < REMOVE_CART_RATE)
    favored = rng.random(v_session.size) < FAVORITE_RATE
    session_end = np.zeros(n_sessions)
    np.maximum.at(session_end, v_session, v_time)
    quantity = 1 + (rng.random(v_session.size) < 0.15) * rng.geometric(0.5, v_session.size)

    frames = [
        _frame(v_user, v_session, v_item, "view", v_time, source, np.nan, np.nan),
        _frame(
            v_user[carted],
            v_session[carted],
            v_item[carted],
            "cart",
            v_time[carted] + 20 / 86400,
            source,
            quantity[carted],
            prices[v_item[carted]],
        ),
        _frame(
            v_user[removed],
            v_session[removed],
            v_item[removed],
            "remove_cart",
            v_time[removed] + 40 / 86400,
            source,
            quantity[removed],
            prices[v_item[removed]],
        ),
        _frame(
            v_user[favored],
            v_session[favored],
            v_item[favored],
            "favorite",
            v_time[favored] + 10 / 86400,
            source,
            np.nan,
            np.nan,
        ),
    ]
    buy_time = session_end[v_session[bought]] + 90 / 86400
    purchases = _frame(
        v_user[bought],
        v_session[bought],
        v_item[bought],
        "purchase",
        buy_time,
        source,
        quantity[bought],
        prices[v_item[bought]],
    )
    purchases["order_id"] = [f"o{s:08d}" for s in v_session[bought]]
    frames.append(purchases)
    refund = rng.random(len(purchases)) < REFUND_RATE
    refunds = purchases[refund].copy()
    refunds["event_type"] = "refund"
    refunds["day"] = np.minimum(refunds["day"] + rng.uniform(1, 14, refund.sum()), days - 1e-4)
    frames.append(refunds)

    searches = rng.random(n_sessions) < SEARCH_RATE
    s_idx = np.flatnonzero(searches)
    search = _frame(
        user[s_idx],
        s_idx,
        np.full(s_idx.size, -1),
        "search",
        session_start[s_idx] - 30 / 86400,
        source,
        np.nan,
        np.nan,
    )
    names = list(CATEGORIES)
    languages = pop.users["language"].to_numpy()[user[s_idx]]
    search["query"] = [
        CATEGORIES[names[c]][3][k][1] if lang == "zh" else CATEGORIES[names[c]][3][k][0]
        for c, k, lang in zip(
            session_cat[s_idx], rng.integers(0, 4, s_idx.size), languages, strict=True
        )
    ]
    frames.append(search)
    events = pd.concat(frames, ignore_index=True)
    events = events[events["day"] >= 0]
    return events


def _frame(
    user: np.ndarray,
    session: np.ndarray,
    item: np.ndarray,
    event_type: str,
    day: np.ndarray,
    source: np.ndarray,
    quantity: object,
    price: object,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": user,
            "session": session,
            "item": item,
            "event_type": event_type,
            "day": day,
            "source": source[session],
            "quantity": quantity,
            "price": price,
            "order_id": None,
            "query": None,
        }
    )
