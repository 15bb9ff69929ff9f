"""Retention: drop raw events older than N days, keeping aggregates of what is dropped.

The cut-off is ``as_of - N days`` rounded down to midnight UTC, so every kept day is whole
and any analysis over the kept period (funnels, trends, sessions, retention cohorts that
start there) gives the same numbers as before. Before the delete, in the same transaction,
the dropped events are summarised into two tables (added to on each run):

* ``events_daily``: per UTC day and event type, events, distinct users, quantity and
  revenue (sum of quantity x price, the definition of docs/metrics.md);
* ``user_history``: per user, first and last event time, events, purchases (distinct
  orders) and purchase revenue: the RFM inputs of the dropped period.

Orders, order lines and every other table are kept (they are the shop's books).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopmind.errors import ShopmindError
from shopmind.store.audit import (
    AuditEntry,
    audited_transaction,
    cli_principal,
)
from shopmind.store.compaction import compact_after_request
from shopmind.store.migrations import migrate
from shopmind.store.requests import (
    RequestResult,
    log_request,
    new_request_id,
    require_workspace,
)
from shopmind.store.workspace import Workspace

_DAILY = """
INSERT INTO events_daily
SELECT CAST(timezone('UTC', ts) AS DATE) AS day, event_type, count(*), count(DISTINCT user_id),
       sum(quantity),
       sum(coalesce(quantity, 1) * price) FILTER (WHERE event_type IN ('purchase', 'refund'))
FROM events WHERE ts < ? GROUP BY ALL
"""

_USERS = """
CREATE OR REPLACE TEMP TABLE _dropped_users AS
SELECT user_id, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS events,
       count(DISTINCT order_id) FILTER (WHERE event_type = 'purchase') AS purchases,
       sum(coalesce(quantity, 1) * price) FILTER (WHERE event_type = 'purchase') AS revenue
FROM events WHERE ts < ? AND user_id IS NOT NULL GROUP BY user_id
"""

_MERGE_USERS = """
CREATE OR REPLACE TEMP TABLE _merged_users AS
SELECT user_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts, sum(events) AS events,
       sum(purchases) AS purchases, sum(revenue) AS revenue
FROM (SELECT * FROM user_history WHERE user_id IN (SELECT user_id FROM _dropped_users)
      UNION ALL SELECT * FROM _dropped_users)
GROUP BY user_id;
DELETE FROM user_history WHERE user_id IN (SELECT user_id FROM _merged_users);
INSERT INTO user_history SELECT * FROM _merged_users;
DROP TABLE _merged_users;
DROP TABLE _dropped_users;
"""


def cutoff_for(older_than_days: int, as_of: datetime | None = None) -> datetime:
    """Midnight UTC of ``as_of - older_than_days`` (``as_of`` default: now)."""
    if older_than_days < 1:
        raise ShopmindError(
            f"--older-than-days {older_than_days} would drop every event.",
            hint="Pass a number of days of 1 or more.",
        )
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    edge = now - timedelta(days=older_than_days)
    return edge.replace(hour=0, minute=0, second=0, microsecond=0)


def apply_retention(
    workspace: Workspace,
    older_than_days: int,
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
    compact: bool = False,
    principal: str | None = None,
    role: str | None = "admin",
) -> RequestResult:
    """Summarise, then delete, events before the cut-off; log the request and audit it. With
    ``compact`` (not on a dry run) the database file is rewritten afterwards so the dropped
    rows' bytes leave the disk (``detail["compacted"]``)."""
    require_workspace(workspace)
    cutoff = cutoff_for(older_than_days, as_of)
    who, at = principal or cli_principal(), datetime.now(UTC)
    with workspace.connect() as con:
        migrate(con)
        row = con.execute(
            "SELECT count(*), count(DISTINCT user_id), min(ts) FROM events WHERE ts < ?", [cutoff]
        ).fetchone()
        assert row is not None
        dropped, users, oldest = int(row[0]), int(row[1]), row[2]
        result = RequestResult(
            new_request_id("retention", at),
            "retention",
            dry_run,
            None,
            rows={"events": dropped},
            detail={
                "cutoff": cutoff,
                "older_than_days": older_than_days,
                "oldest_dropped": oldest,
                "users_summarised": users,
                "aggregates": ["events_daily", "user_history"],
            },
        )
        if dry_run:
            return result
        if dropped:
            with audited_transaction(con, workspace) as chain:
                con.execute(_DAILY, [cutoff])
                con.execute(_USERS, [cutoff])
                con.execute(_MERGE_USERS)
                con.execute("DELETE FROM events WHERE ts < ?", [cutoff])
                log_request(con, result, who, at)
                target = f"request={result.request_id} cutoff={cutoff:%Y-%m-%d} events={dropped}"
                chain.append(con, [AuditEntry(who, role, "retention", target, "ok")])
    if compact:
        result.detail["compacted"] = compact_after_request(workspace)
    return result
