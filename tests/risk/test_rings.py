"""Fraud rings: union-find over shared pseudonyms, hubs, known-bad share at a time."""

from __future__ import annotations

import pandas as pd

from shopmind.risk.rings import RingTracker, find_rings, ring_features, ring_recovery


def _links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(8)],
            "user_id": ["a", "b", "c", "d", "e", "x", "y", "z"],
            "_s": [0.0, 10, 20, 30, 40, 50, 60, 70],
            "device": ["D1", "D1", "D2", None, "D9", "HUB", "HUB", "HUB"],
            "ip": ["I1", None, "I2", "I2", None, None, None, None],
        }
    )


def test_components_and_hubs() -> None:
    # a-b share D1; c-d share I2; b..c are not linked; x,y,z share a hub value (limit 2)
    rings = find_rings(_links(), bad_accounts={"a"}, min_size=2, max_accounts=2)
    groups = sorted(tuple(r["accounts"]) for r in rings)
    assert groups == [("a", "b"), ("c", "d")]
    assert next(r for r in rings if "a" in r["accounts"])["known_bad"] == 1
    assert ring_recovery(rings, {"a", "b", "e"})["recall"] == 2 / 3


def test_known_bad_share_counts_labels_known_by_then() -> None:
    links = _links().iloc[:2]
    # a is known bad from t=5: b's order at t=10 sees it; with a later time it does not
    early = ring_features(links, {"a": 5.0}, frozenset(), 20)
    late = ring_features(links, {"a": 50.0}, frozenset(), 20)
    assert early["ring_size"].tolist() == [1, 2]
    assert early["ring_known_bad_share"].tolist() == [0.0, 1.0]
    assert late["ring_known_bad_share"].tolist() == [0.0, 0.0]


def test_tracker_counts_own_label_out() -> None:
    tracker = RingTracker(known_bad={"a": 0.0})
    tracker.observe("a", ["device:D"])
    tracker.observe("b", ["device:D"])
    assert tracker.features("a", 1.0) == (2, 0.0)
    assert tracker.features("b", 1.0) == (2, 1.0)
