"""Behavioural segmentation: k-means on standardised per-user features, ``k`` chosen by the
best silhouette score (Rousseeuw 1987) over 2..8 on a sample, each segment described in
words by the features that set it apart (largest |z| of the segment mean).
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from shopmind.analytics.metrics import is_sold
from shopmind.errors import AnalyticsError
from shopmind.features.frames import stable_floats
from shopmind.features.tables import Tables

FEATURES = {
    "views": "views",
    "carts": "add-to-carts",
    "purchases": "order lines bought",
    "spend": "spend",
    "active_days": "active days",
    "recency_days": "days since last visit",
    "cart_rate": "cart rate",
    "purchase_rate": "purchase rate",
}


#: Standard deviations from the overall mean below which a feature describes no segment.
MIN_TRAIT_Z = 0.05


def user_features(tables: Tables) -> pd.DataFrame:
    events = tables.events()
    e = events.filter(events.user_id.notnull())
    amount = ibis.coalesce(e.quantity, 1) * ibis.coalesce(e.price, 0)
    # a cancelled order's lines are no purchase and no spend (docs/metrics.md)
    bought = (e.event_type == "purchase") & is_sold(tables, e)
    last = e.ts.max().execute()
    frame = (
        e.group_by("user_id")
        .aggregate(
            views=(e.event_type == "view").sum(),
            carts=(e.event_type == "cart").sum(),
            purchases=bought.sum(),
            spend=ibis.ifelse(bought, amount, 0).sum(),
            active_days=e.ts.date().nunique(),
            last_ts=e.ts.max(),
        )
        .order_by("user_id")  # a fixed row order: the sample and k-means see the same input
        .execute()
    )
    frame = stable_floats(frame)  # parallel sums: the same last bits on every run
    frame["recency_days"] = (
        pd.Timestamp(last) - pd.to_datetime(frame.pop("last_ts"))
    ).dt.total_seconds() / 86_400
    frame["cart_rate"] = frame["carts"] / frame["views"].clip(lower=1)
    # purchases per add-to-cart, at most 1 (data without cart events: purchases are the carts)
    carted = np.maximum(frame["carts"], frame["purchases"]).clip(lower=1)
    frame["purchase_rate"] = frame["purchases"] / carted
    return frame


def segment_users(
    tables: Tables, k: int | None = None, seed: int = 0, sample: int = 20_000
) -> dict[str, Any]:
    """Cluster users; returns assignments, the chosen k with its silhouette, descriptions."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    frame = user_features(tables)
    if len(frame) < 20:
        raise AnalyticsError("Segmentation needs at least 20 users with events.")
    columns = list(FEATURES)
    x = frame[columns].astype(float).to_numpy()
    skewed = ["views", "carts", "purchases", "spend", "active_days", "recency_days"]
    for i, c in enumerate(columns):
        if c in skewed:
            x[:, i] = np.log1p(np.clip(x[:, i], 0, None))
    z = StandardScaler().fit_transform(x)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(z), size=min(sample, len(z)), replace=False)
    scores = {}
    candidates = [k] if k else list(range(2, min(8, len(z) - 1) + 1))
    for n in candidates:
        labels = KMeans(n_clusters=n, n_init=4, random_state=seed).fit_predict(z[idx])
        scores[n] = float(
            silhouette_score(z[idx], labels, sample_size=min(5000, len(idx)), random_state=seed)
        )
    best = max(scores, key=lambda n: scores[n])
    model = KMeans(n_clusters=best, n_init=8, random_state=seed).fit(z)
    frame["segment"] = model.labels_
    described: list[dict[str, Any]] = []
    overall = frame[columns].mean()
    spread = frame[columns].std().replace(0, 1)
    for label, group in frame.groupby("segment"):
        zs = ((group[columns].mean() - overall) / spread).sort_values(key=np.abs, ascending=False)
        # a trait sets the segment apart: a feature the same for everyone, or one where the
        # segment sits at the overall mean (under 0.05 standard deviations), is none
        telling = zs[zs.abs() >= MIN_TRAIT_Z]
        traits = [
            f"{'high' if v > 0 else 'low'} {FEATURES[str(c)]} "
            f"({group[str(c)].mean():.3g} vs {overall[str(c)]:.3g} overall)"
            for c, v in telling.head(3).items()
        ] or ["close to the overall means"]
        described.append(
            {
                "segment": int(str(label)),
                "users": len(group),
                "share": round(len(group) / len(frame), 6),
                "description": "; ".join(traits),
                "means": {c: round(float(group[c].mean()), 4) for c in columns},
            }
        )
    described.sort(key=lambda d: -int(d["users"]))
    return {
        "k": best,
        "criterion": "silhouette (k-means, 2..8)",
        "silhouette": {str(n): round(s, 4) for n, s in scores.items()},
        "segments": described,
        "assignments": frame[["user_id", "segment"]],
    }
