"""User features at a cutoff: only events strictly before the cutoff are used, never after.

Windows are 1, 7 and 30 days before the cutoff. Written in Ibis, so they run on DuckDB and
on Spark. ``FEATURE_LABELS`` gives each feature a phrase for explanations.
"""

from __future__ import annotations

from datetime import datetime

import ibis
from ibis.expr.types import Table

from shopmind.features.tables import Tables

WINDOWS = (1, 7, 30)
NEVER_DAYS = 999.0
#: Features that hold ``NEVER_DAYS`` when the thing never happened before the cutoff.
NEVER_FEATURES = frozenset({"purchase_recency_days", "cart_recency_days"})

FEATURE_LABELS = {
    "recency_days": "days since last visit",
    "purchase_recency_days": "days since last purchase",
    "cart_recency_days": "days since last add-to-cart",
    "first_seen_days": "days since first visit",
    "days_since_signup": "days since signup",
    "orders": "orders so far",
    "monetary": "total spend",
    "events": "events so far",
    "active_days": "active days",
    "mean_price": "mean price of items looked at",
    "evening_share": "share of activity in the evening",
    "weekend_share": "share of activity at weekends",
    "open_carts_7d": "carts not bought in the last 7 days",
    "sessions": "sessions",
    "events_per_session": "events per session",
    "session_minutes": "mean session length (minutes)",
    "top_category_share": "share of activity in the favourite category",
    "categories": "categories browsed",
    "rfm_r": "RFM recency score",
    "rfm_f": "RFM frequency score",
    "rfm_m": "RFM monetary score",
    **{
        f"{kind}_{w}d": f"{label} in the last {w} day{'s' if w > 1 else ''}"
        for w in WINDOWS
        for kind, label in (
            ("views", "views"),
            ("carts", "add-to-carts"),
            ("favorites", "favourites"),
            ("purchases", "purchases"),
        )
    },
}


def user_features(tables: Tables, cutoff: datetime) -> Table:
    """One row per user with events before ``cutoff``; columns = FEATURE_LABELS keys."""
    events = tables["events"]
    e = events.filter(events.user_id.notnull() & (events.ts < cutoff))
    items = tables["items"].select("item_id", item_price="price")
    e = e.left_join(items, e.item_id == items.item_id).select(*e.columns, "item_price")
    c = ibis.literal(cutoff)
    days_ago = (c.epoch_seconds() - e.ts.epoch_seconds()) / 86_400.0
    e = e.mutate(days_ago=days_ago, hour=e.ts.hour(), dow=e.ts.day_of_week.index())
    is_type = {k: e.event_type == k for k in ("view", "cart", "favorite", "purchase")}
    amount = ibis.coalesce(e.quantity, 1) * ibis.coalesce(e.price, e.item_price, 0)
    windows = {}
    for w in WINDOWS:
        recent = e.days_ago <= w
        for kind, name in (
            ("view", "views"),
            ("cart", "carts"),
            ("favorite", "favorites"),
            ("purchase", "purchases"),
        ):
            windows[f"{name}_{w}d"] = (is_type[kind] & recent).cast("int64").sum()
    agg = e.group_by("user_id").aggregate(
        recency_days=e.days_ago.min(),
        purchase_recency_days=ibis.ifelse(is_type["purchase"], e.days_ago, None).min(),
        cart_recency_days=ibis.ifelse(is_type["cart"], e.days_ago, None).min(),
        first_seen_days=e.days_ago.max(),
        orders=ibis.ifelse(
            is_type["purchase"], ibis.coalesce(e.order_id, e.event_id), None
        ).nunique(),
        monetary=ibis.ifelse(is_type["purchase"], amount, 0).sum(),
        events=e.count(),
        active_days=e.ts.date().nunique(),
        mean_price=ibis.coalesce(e.price, e.item_price).mean(),
        evening_share=(e.hour >= 18).cast("float64").mean(),
        weekend_share=(e.dow >= 5).cast("float64").mean(),
        **windows,
    )
    agg = agg.left_join(_session_features(e), "user_id").select(
        *agg.columns, "sessions", "events_per_session", "session_minutes"
    )
    agg = agg.left_join(_category_features(e, tables), "user_id").select(
        *agg.columns, "top_category_share", "categories"
    )
    users = tables["users"].select("user_id", "signup_ts")
    joined = agg.left_join(users, agg.user_id == users.user_id)
    signup_days = (c.epoch_seconds() - joined.signup_ts.epoch_seconds()) / 86_400.0
    return joined.select(
        *[col for col in agg.columns],
        days_since_signup=ibis.coalesce(signup_days, joined.first_seen_days),
    ).mutate(
        purchase_recency_days=ibis.coalesce(ibis._.purchase_recency_days, NEVER_DAYS),
        cart_recency_days=ibis.coalesce(ibis._.cart_recency_days, NEVER_DAYS),
        mean_price=ibis.coalesce(ibis._.mean_price, 0.0),
        open_carts_7d=ibis.greatest(ibis._.carts_7d - ibis._.purchases_7d, 0),
        top_category_share=ibis.coalesce(ibis._.top_category_share, 0.0),
        categories=ibis.coalesce(ibis._.categories, 0),
    )


def _session_features(e: Table) -> Table:
    """Sessions split by a 30-minute gap (source session ids are not needed)."""
    from shopmind.features.sessions import sessionize

    s = sessionize(e.select("user_id", "event_id", "ts", "session_id"), source_ids=False)
    per = s.group_by(["user_id", "session_number"]).aggregate(
        n=s.count(), span=s.ts.max().epoch_seconds() - s.ts.min().epoch_seconds()
    )
    return per.group_by("user_id").aggregate(
        sessions=per.count(),
        events_per_session=per.n.mean(),
        session_minutes=per.span.mean() / 60.0,
    )


def _category_features(e: Table, tables: Tables) -> Table:
    """Share of the user's item events in their most frequent category; categories seen."""
    items = tables["items"].select("item_id", "category")
    withcat = e.select("user_id", "item_id").inner_join(items, "item_id")
    withcat = withcat.filter(withcat.category.notnull())
    counts = withcat.group_by(["user_id", "category"]).aggregate(n=withcat.count())
    return counts.group_by("user_id").aggregate(
        top_category_share=counts.n.max() / counts.n.sum(), categories=counts.count()
    )


def purchasers_between(tables: Tables, start: datetime, end: datetime) -> Table:
    """Users with a purchase in ``[start, end)``."""
    events = tables["events"]
    bought = events.filter(
        (events.event_type == "purchase")
        & events.user_id.notnull()
        & (events.ts >= start)
        & (events.ts < end)
    )
    return bought.select("user_id").distinct()
