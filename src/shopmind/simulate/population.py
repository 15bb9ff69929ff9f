"""Users with planted segments, latent tastes, price sensitivity, activity and churn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# segment: share, sessions per active day, cart multiplier, purchase probability given cart,
# price sensitivity, churn probability within the window
SEGMENTS: dict[str, tuple[float, float, float, float, float, float]] = {
    "loyal_high_value": (0.10, 0.55, 1.6, 0.65, 0.3, 0.03),
    "bargain_hunter": (0.25, 0.30, 1.0, 0.45, 2.5, 0.15),
    "casual_browser": (0.35, 0.12, 0.6, 0.30, 1.0, 0.25),
    "new_explorer": (0.15, 0.35, 0.9, 0.40, 1.2, 0.30),
    "churner": (0.15, 0.30, 0.9, 0.40, 1.0, 1.00),
}
COUNTRIES = ["CN", "CN", "CN", "GB", "US", "DE", "FR", "SG"]
FIRST = ["wei", "fang", "li", "jing", "anna", "james", "oliver", "emma", "lucas", "mia"]
LAST = ["wang", "zhang", "chen", "liu", "smith", "brown", "jones", "taylor", "martin", "lee"]


@dataclass(frozen=True)
class Population:
    users: pd.DataFrame  # user_id, signup_ts, country, gender, age, email, phone, language, device
    segment: np.ndarray  # segment name per user
    taste: np.ndarray  # (n_users, n_categories) category preferences, rows sum to 1
    activity: np.ndarray  # sessions per active day
    cart_mult: np.ndarray
    buy_prob: np.ndarray
    price_sensitivity: np.ndarray
    active_from: np.ndarray  # day index (float) the user starts being active
    active_to: np.ndarray  # day index (float) the user stops (churn or window end)
    peak_hour: np.ndarray


def make_population(
    n_users: int, days: int, n_categories: int, start: pd.Timestamp, rng: np.random.Generator
) -> Population:
    names = list(SEGMENTS)
    shares = np.array([SEGMENTS[s][0] for s in names])
    seg_index = rng.choice(len(names), n_users, p=shares / shares.sum())
    params = np.array([SEGMENTS[s][1:] for s in names])[seg_index]
    activity = params[:, 0] * rng.lognormal(0.0, 0.5, n_users)
    # new explorers sign up inside the window, the others mostly before it
    signup_day = np.where(
        np.array(names)[seg_index] == "new_explorer",
        rng.uniform(0, days * 0.8, n_users),
        np.where(
            rng.random(n_users) < 0.75,
            -rng.uniform(1, 365, n_users),
            rng.uniform(0, days * 0.7, n_users),
        ),
    )
    active_from = np.maximum(signup_day, 0.0)
    churns = rng.random(n_users) < params[:, 4]
    churn_day = active_from + rng.uniform(3, max(days * 0.6, 4), n_users)
    active_to = np.where(churns, np.minimum(churn_day, days), days).astype(float)
    taste = rng.dirichlet(np.full(n_categories, 0.35), n_users)
    peak_hour = rng.choice([9.0, 12.5, 20.5, 23.0], n_users, p=[0.15, 0.25, 0.45, 0.15])
    first = rng.integers(0, len(FIRST), n_users)
    last = rng.integers(0, len(LAST), n_users)
    country = np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n_users)]
    user_ids = [f"u{i:07d}" for i in range(n_users)]
    users = pd.DataFrame(
        {
            "user_id": user_ids,
            "signup_ts": start + pd.to_timedelta(signup_day, unit="D"),
            "country": country,
            "gender": rng.choice(["F", "M"], n_users),
            "age": rng.integers(18, 70, n_users),
            "email": [
                f"{FIRST[a]}.{LAST[b]}{i}@example.com"
                for i, (a, b) in enumerate(zip(first, last, strict=True))
            ],
            "phone": [f"+44 7700 9{i % 100000:05d}" for i in range(n_users)],
            "language": np.where(country == "CN", "zh", "en"),
            "device": rng.choice(["mobile", "desktop", "tablet"], n_users, p=[0.6, 0.32, 0.08]),
            "acquisition": rng.choice(["seo", "ads", "direct", "social", "referral"], n_users),
        }
    )
    return Population(
        users=users,
        segment=np.array(names)[seg_index],
        taste=taste,
        activity=activity,
        cart_mult=params[:, 1],
        buy_prob=params[:, 2],
        price_sensitivity=params[:, 3],
        active_from=active_from,
        active_to=active_to,
        peak_hour=peak_hour,
    )
