"""Item- and category-level purchase intent at a cutoff: what a user carted, favourited or kept
looking at and has not bought yet. Only events strictly before the cutoff are used.

An item is *open* when the user's last add-to-cart (or favourite) of it comes after their last
purchase of it (or they never bought it). Ibis expressions, so they run on DuckDB and Spark.
"""

from __future__ import annotations

from datetime import datetime

import ibis
from ibis.expr.types import Table

from shopmind.features.point_in_time import (
    FEATURE_LABELS,
    NEVER_DAYS,
    NEVER_FEATURES,
    user_features,
)
from shopmind.features.tables import Tables

INTENT_LABELS = {
    "open_cart_items": "items in the cart not bought yet",
    "open_favorite_items": "favourited items not bought yet",
    "open_cart_recency_days": "days since the last add-to-cart not bought yet",
    "repeat_view_items": "items viewed more than once",
    "max_item_views": "most views of one item",
    "open_cart_categories": "categories carted and not bought in",
    "bought_items": "different items bought",
    "purchases_per_active_day": "purchases per active day",
    "cart_to_purchase": "purchases per add-to-cart",
    "views_trend": "views in the last day against the 7-day daily mean",
}
DECAYED_LABELS = {
    f"{kind}_decayed": f"{label}, recent ones weighted more"
    for kind, label in (("views", "views"), ("carts", "add-to-carts"), ("purchases", "purchases"))
}
INTENT_LABELS.update(DECAYED_LABELS)
INTENT_FEATURES = tuple(INTENT_LABELS)
#: Every propensity feature with its phrase, and those holding ``NEVER_DAYS`` for "never".
PROPENSITY_LABELS = {**FEATURE_LABELS, **INTENT_LABELS}
PROPENSITY_NEVER_FEATURES = NEVER_FEATURES | {"open_cart_recency_days"}


def propensity_features(tables: Tables, cutoff: datetime, half_life_days: float = 7.0) -> Table:
    """``user_features`` plus the columns of ``INTENT_LABELS`` (0, or ``NEVER_DAYS`` for
    the recency, for users without item events); decayed counts halve every
    ``half_life_days`` (the propensity model passes its horizon)."""
    users = user_features(tables, cutoff)
    intent = intent_features(tables, cutoff, half_life_days)
    item_columns = [c for c in intent.columns if c != "user_id"]
    joined = users.left_join(intent, "user_id").select(*users.columns, *item_columns)
    filled = {
        c: ibis.coalesce(joined[c], NEVER_DAYS if c in PROPENSITY_NEVER_FEATURES else 0)
        for c in item_columns
    }
    return add_ratios(joined.mutate(**filled)).select(*users.columns, *INTENT_FEATURES)


def _kind(e: Table, kind: str) -> ibis.Value:
    return (e.event_type == kind).cast("int64")


def intent_features(tables: Tables, cutoff: datetime, half_life_days: float = 7.0) -> Table:
    """One row per user with item events before ``cutoff``: the item-level columns of
    ``INTENT_LABELS`` (ratios are added by ``add_ratios`` on the joined user features)."""
    events = tables["events"]
    e = events.filter(events.user_id.notnull() & events.item_id.notnull() & (events.ts < cutoff))
    c = ibis.literal(cutoff)
    e = e.mutate(days_ago=(c.epoch_seconds() - e.ts.epoch_seconds()) / 86_400.0)
    weight = (e.days_ago * (-0.6931471805599453 / half_life_days)).exp()
    e = e.mutate(weight=weight)
    per_item = e.group_by(["user_id", "item_id"]).aggregate(
        views_decayed=ibis.ifelse(e.event_type == "view", e.weight, 0.0).sum(),
        carts_decayed=ibis.ifelse(e.event_type == "cart", e.weight, 0.0).sum(),
        purchases_decayed=ibis.ifelse(e.event_type == "purchase", e.weight, 0.0).sum(),
        views=_kind(e, "view").sum(),
        last_cart=ibis.ifelse(e.event_type == "cart", e.ts, None).max(),
        last_fav=ibis.ifelse(e.event_type == "favorite", e.ts, None).max(),
        last_buy=ibis.ifelse(e.event_type == "purchase", e.ts, None).max(),
        cart_days_ago=ibis.ifelse(e.event_type == "cart", e.days_ago, None).min(),
    )
    bought = per_item.last_buy.notnull()
    open_cart = per_item.last_cart.notnull() & (~bought | (per_item.last_cart > per_item.last_buy))
    open_fav = per_item.last_fav.notnull() & (~bought | (per_item.last_fav > per_item.last_buy))
    items = per_item.group_by("user_id").aggregate(
        open_cart_items=open_cart.cast("int64").sum(),
        open_favorite_items=open_fav.cast("int64").sum(),
        open_cart_recency_days=ibis.ifelse(open_cart, per_item.cart_days_ago, None).min(),
        repeat_view_items=(per_item.views >= 2).cast("int64").sum(),
        max_item_views=per_item.views.max(),
        bought_items=bought.cast("int64").sum(),
        views_decayed=per_item.views_decayed.sum(),
        carts_decayed=per_item.carts_decayed.sum(),
        purchases_decayed=per_item.purchases_decayed.sum(),
    )
    categories = _open_cart_categories(e, tables)
    joined = items.left_join(categories, "user_id").select(*items.columns, "open_cart_categories")
    return joined.mutate(
        open_cart_recency_days=ibis.coalesce(joined.open_cart_recency_days, NEVER_DAYS),
        open_cart_categories=ibis.coalesce(joined.open_cart_categories, 0),
    )


def _open_cart_categories(e: Table, tables: Tables) -> Table:
    """Categories the user carted in after their last purchase in that category."""
    cats = tables["items"].select("item_id", "category")
    withcat = e.select("user_id", "item_id", "event_type", "ts").inner_join(cats, "item_id")
    withcat = withcat.filter(withcat.category.notnull())
    per = withcat.group_by(["user_id", "category"]).aggregate(
        last_cart=ibis.ifelse(withcat.event_type == "cart", withcat.ts, None).max(),
        last_buy=ibis.ifelse(withcat.event_type == "purchase", withcat.ts, None).max(),
    )
    is_open = per.last_cart.notnull() & (per.last_buy.isnull() | (per.last_cart > per.last_buy))
    return per.group_by("user_id").aggregate(open_cart_categories=is_open.cast("int64").sum())


def add_ratios(users: Table) -> Table:
    """Rates that compare users of different activity: purchases per active day, purchases
    per add-to-cart (30-day window), and the last day's views against the 7-day daily mean."""
    u = users
    return u.mutate(
        purchases_per_active_day=u.orders / ibis.greatest(u.active_days, 1),
        cart_to_purchase=u.purchases_30d / (u.carts_30d + 1.0),
        views_trend=u.views_1d / (u.views_7d / 7.0 + 1.0),
    )
