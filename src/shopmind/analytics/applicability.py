"""Which pipeline steps apply to the data in a workspace, and why not when they do not.

``make demo`` runs each step only when it applies (a failing step that applies stops the
demo); a skipped step prints one line with the reason. A sales log without browsing has no
funnel; a log without a randomised campaign has nothing to learn uplift from.
"""

from __future__ import annotations

import math

import duckdb

from shopmind.store import Workspace
from shopmind.store.workspace import synthetic_time_format

STEPS = (
    "funnel",
    "rfm",
    "clv",
    "profiles",
    "propensity",
    "abtest",
    "recommend",
    "campaign",
    "report",
)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0] or 0)


def fitting_horizon(span_days: float) -> int:
    """The longest whole-day propensity horizon a log of ``span_days`` holds: training,
    validation and test windows need a span of more than three horizons (9 days: 2)."""
    return max(0, math.ceil(span_days / 3) - 1)


#: Steps that read dates (recency, spans, horizons): not for logs without timestamps.
TIMED_STEPS = ("rfm", "clv", "profiles", "propensity")

#: Users with a purchase after an earlier event of theirs (what propensity learns from).
_RETURNING_BUYERS = """
    SELECT count(*) FROM (
        SELECT user_id FROM events WHERE user_id IS NOT NULL GROUP BY user_id
        HAVING max(ts) FILTER (WHERE event_type = 'purchase') > min(ts)
    )
"""


def why_not(
    workspace: Workspace,
    step: str,
    campaign: str | None = None,
    horizon_days: float | None = None,
) -> str | None:
    """None when ``step`` applies to the workspace's data, else the reason in one line;
    ``horizon_days`` is propensity's label window (training, validation and test snapshots
    each need one before the last event)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; steps: {', '.join(STEPS)}")
    with workspace.connect(read_only=True) as con:
        synthetic = synthetic_time_format(con)
        if synthetic and step in TIMED_STEPS:
            return (
                f"the events come from a '{synthetic}' file, which has no timestamps (their "
                f"times are synthetic and keep the order only): {step} needs real dates"
            )
        types = {r[0] for r in con.execute("SELECT DISTINCT event_type FROM events").fetchall()}
        buyers = _one(
            con,
            "SELECT count(DISTINCT user_id) FROM events "
            "WHERE event_type = 'purchase' AND user_id IS NOT NULL",
        )
        if step == "funnel":
            steps = [t for t in ("view", "cart", "purchase") if t in types]
            if len(steps) < 2:
                return (
                    f"the data has {', '.join(sorted(types)) or 'no'} events; a funnel needs "
                    "two of view, cart, purchase"
                )
        elif step in ("rfm", "propensity"):
            if not buyers:
                return "no purchases by known users"
            if step == "propensity" and not _one(con, _RETURNING_BUYERS):
                return (
                    "no purchase follows an earlier event of the same user (each customer's "
                    "only event is their purchase): there is no behaviour to predict it from"
                )
            if step == "propensity" and horizon_days:
                span = con.execute("SELECT epoch(max(ts)) - epoch(min(ts)) FROM events").fetchall()[
                    0
                ][0]
                days = float(span or 0) / 86_400
                if days <= 3 * horizon_days:
                    fits = fitting_horizon(days)
                    return (
                        f"the data span {days:.1f} days; a {horizon_days:g}-day horizon needs "
                        f"more than {3 * horizon_days:g} (training, validation and test "
                        "windows)" + (f": try --horizon {fits}d" if fits >= 1 else "")
                    )
        elif step == "clv":
            repeat, priced = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE priced) FROM (SELECT user_id, "
                "bool_or(price IS NOT NULL) AS priced FROM events WHERE event_type = 'purchase' "
                "AND user_id IS NOT NULL GROUP BY user_id "
                "HAVING count(DISTINCT CAST(ts AS DATE)) > 1)"
            ).fetchall()[0]
            if repeat >= 10 and priced < 10:
                which = (
                    "no purchase carries"
                    if not priced
                    else f"only {priced} of them {'has' if priced == 1 else 'have'}"
                )
                return (
                    f"{repeat:,} customers bought on more than one day, but {which} a price: "
                    "CLV values spend"
                )
            if repeat < 10:
                who = "customer" if repeat == 1 else "customers"
                return f"{repeat} {who} bought on more than one day; CLV needs repeat buyers"
        elif step == "profiles":
            if not types:
                return "no events"
            if not _one(con, "SELECT count(*) FROM events WHERE user_id IS NOT NULL"):
                return "no event carries a user id (anonymous sessions): profiles need known users"
        elif step in ("abtest", "campaign"):
            where = "WHERE campaign_id = ?" if campaign else ""
            n = con.execute(
                f"SELECT count(*) FROM campaign_assignments {where}", [campaign] if campaign else []
            ).fetchall()[0][0]
            if not n:
                held = [
                    str(r[0])
                    for r in con.execute(
                        "SELECT DISTINCT campaign_id FROM campaign_assignments ORDER BY 1 LIMIT 5"
                    ).fetchall()
                ]
                named = f"campaign '{campaign}'" if campaign else "randomised campaign"
                if held:  # another campaign is there: name it, the user may mean it
                    return f"no {named} in the workspace (it holds {', '.join(held)})"
                return (
                    f"no {named} in the workspace (campaign_assignments is empty: load a past "
                    "campaign with ingest --format campaign)"
                )
        elif step == "recommend":
            items = _one(
                con, "SELECT count(DISTINCT item_id) FROM events WHERE item_id IS NOT NULL"
            )
            if items < 2:
                return "no item interactions to learn from"
    return None
