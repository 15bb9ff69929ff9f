"""Small labelled files for the risk tests (made here, no download)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def fraud_like(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Fraud_Data-shaped rows: bad rows buy seconds after signup from shared devices."""
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.1
    signup = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 90, n), unit="D")
    gap = np.where(bad & (rng.random(n) < 0.7), 1.0, rng.uniform(3600, 40 * 86400, n))
    purchase = signup + pd.to_timedelta(gap, unit="s")
    devices = np.array([f"D{i:06d}" for i in rng.integers(0, 10**6, n)], dtype=object)
    shared = np.flatnonzero(bad)[: int(bad.sum() * 0.6)]
    devices[shared] = [f"RING{i % 15:02d}" for i in range(len(shared))]
    return pd.DataFrame(
        {
            "user_id": rng.permutation(n) + 1000,
            "signup_time": signup.strftime("%m/%d/%y %H:%M:%S"),
            "purchase_time": purchase.strftime("%m/%d/%y %H:%M:%S"),
            "purchase_value": rng.integers(9, 150, n),
            "device_id": devices,
            "source": rng.choice(["SEO", "Ads", "Direct"], n),
            "browser": rng.choice(["Chrome", "Safari", "IE", "FireFox"], n),
            "sex": rng.choice(["M", "F"], n),
            "age": rng.integers(18, 70, n),
            "class": bad.astype(int),
        }
    )


def anonymised(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """Credit-card-shaped rows: Time, V1..V28 (PCA-like numbers), Amount, Class."""
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.05
    frame = pd.DataFrame({"Time": np.sort(rng.uniform(0, 172_800, n)).round()})
    for j in range(1, 29):
        frame[f"V{j}"] = rng.standard_normal(n) + (2.5 if j in (3, 10, 14) else 0.0) * bad
    frame["Amount"] = np.round(rng.lognormal(3, 1.2, n), 2)
    frame["Class"] = bad.astype(int)
    return frame


@pytest.fixture
def fraud_frame() -> pd.DataFrame:
    return fraud_like()


@pytest.fixture
def anonymised_frame() -> pd.DataFrame:
    return anonymised()
