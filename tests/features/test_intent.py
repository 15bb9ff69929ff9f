"""Item-level intent features on a hand-made Taobao-format shop with known answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from shopmind.features.intent import INTENT_FEATURES, intent_features, propensity_features
from shopmind.features.point_in_time import NEVER_DAYS, user_features
from shopmind.features.tables import duckdb_tables
from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import options

CUTOFF = datetime(2017, 11, 27, 16, tzinfo=UTC)  # 2017-11-28 00:00 China time
T = int(CUTOFF.timestamp())
BASE = T - 2 * 86_400

# user, item, category, behavior, unix seconds
ROWS = [
    # user 1 looks at item 10 three times, carts it and buys it (closed); then carts item 11
    # a day before the cutoff; buying item 11 after the cutoff must not close it
    (1, 10, 5, "pv", BASE),
    (1, 10, 5, "pv", BASE + 60),
    (1, 10, 5, "pv", BASE + 120),
    (1, 10, 5, "cart", BASE + 180),
    (1, 10, 5, "buy", BASE + 240),
    (1, 12, 6, "pv", BASE + 300),
    (1, 11, 5, "cart", T - 86_400),
    (1, 11, 5, "buy", T + 3_600),
    # user 2 favourites item 20, buys item 21 and carts it again afterwards (open again)
    (2, 20, 7, "fav", BASE),
    (2, 21, 7, "buy", BASE + 100),
    (2, 21, 7, "cart", BASE + 200),
    (2, 22, 7, "pv", BASE + 400),
    # user 3 only views once; user 4 appears only after the cutoff
    (3, 30, 8, "pv", BASE + 500),
    (4, 40, 8, "cart", T + 60),
]


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("intent")
    path = root / "tiny.csv"
    path.write_text("".join(f"{u},{i},{c},{b},{t}\n" for u, i, c, b, t in ROWS))
    ws = Workspace(root / "ws")
    ingest_file(ws, path, options("taobao_userbehavior", pseudonymize=False))
    return ws


def _frame(ws: Workspace, build: object) -> pd.DataFrame:
    with duckdb_tables(ws) as tables:
        out = build(tables, CUTOFF).execute()  # type: ignore[operator]
    return out.set_index("user_id").sort_index()


def test_open_items_and_repeat_views_have_the_known_values(tiny_ws: Workspace) -> None:
    f = _frame(tiny_ws, intent_features)
    assert list(f.index) == ["1", "2", "3"]  # user 4 has no events before the cutoff
    one, two, three = f.loc["1"], f.loc["2"], f.loc["3"]
    assert (one.open_cart_items, one.bought_items, one.open_favorite_items) == (1, 1, 0)
    assert (one.repeat_view_items, one.max_item_views) == (1, 3)
    assert one.open_cart_recency_days == pytest.approx(1.0)
    assert one.open_cart_categories == 1  # category 5 carted after its last purchase; 6 never
    assert (two.open_cart_items, two.open_favorite_items, two.bought_items) == (1, 1, 1)
    assert two.open_cart_recency_days == pytest.approx((T - BASE - 200) / 86_400)
    assert (two.repeat_view_items, two.max_item_views, two.open_cart_categories) == (0, 1, 1)
    assert (three.open_cart_items, three.open_cart_recency_days) == (0, NEVER_DAYS)
    # counts halving every 7 days (the default half-life)
    half = 0.5 ** (1 / 7 / 86_400)
    assert one.purchases_decayed == pytest.approx(half ** (T - BASE - 240))
    assert one.carts_decayed == pytest.approx(half ** (T - BASE - 180) + half**86_400)
    assert one.views_decayed == pytest.approx(
        sum(half ** (T - BASE - s) for s in (0, 60, 120, 300))
    )


def test_half_life_sets_the_decay(tiny_ws: Workspace) -> None:
    with duckdb_tables(tiny_ws) as tables:
        fast = intent_features(tables, CUTOFF, half_life_days=1.0).execute().set_index("user_id")
    assert fast.loc["1", "carts_decayed"] == pytest.approx(0.5 ** ((T - BASE - 180) / 86_400) + 0.5)


def test_propensity_features_add_intent_and_rates_to_user_features(tiny_ws: Workspace) -> None:
    users = _frame(tiny_ws, user_features)
    full = _frame(tiny_ws, propensity_features)
    assert list(full.columns) == [*users.columns, *INTENT_FEATURES]
    pd.testing.assert_frame_equal(full[users.columns], users)
    one = full.loc["1"]
    assert one.purchases_per_active_day == pytest.approx(one.orders / one.active_days)
    assert one.cart_to_purchase == pytest.approx(1 / (2 + 1))  # 1 purchase, 2 carts in 30 days
    assert one.views_trend == pytest.approx(0 / (4 / 7 + 1))  # no views in the last day
    assert not full.isna().any().any()


def test_later_events_never_change_the_features(tiny_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "before.csv"
    path.write_text("".join(f"{u},{i},{c},{b},{t}\n" for u, i, c, b, t in ROWS if t < T))
    truncated = Workspace(tmp_path / "ws")
    ingest_file(truncated, path, options("taobao_userbehavior", pseudonymize=False))
    pd.testing.assert_frame_equal(
        _frame(tiny_ws, propensity_features), _frame(truncated, propensity_features)
    )
