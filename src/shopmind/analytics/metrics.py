"""Business metrics, defined once (docs/metrics.md): the CLI, the report and the API read these.

* an **order line** is one ``purchase`` event; an **order** is one distinct order id among
  purchase events (a purchase without an order id is its own order). Refund invoices are not
  orders.
* **gross revenue** is the sum of ``quantity x price`` over order lines (quantity defaults
  to 1); **refunds** the same sum over ``refund`` events; **net revenue** = gross - refunds.
  Per period, refunds are dated by the refund (``refunds_by="refund"``, as a ledger books
  them) or by the refunded order (``"order"``, so a cancelled order nets to zero in its own
  period; a refund without a known order keeps its own date).
* **average order value** (AOV) = net revenue / orders.
* **customers**: known users (``user_id`` not NULL) with at least one order line; in a
  period, **active customers** bought in it, **new** ones bought for the first time ever in
  it, **returning** ones had bought before it. **Active users** had any event.
* **conversion** = active customers / active users, only when the data has browsing events
  (view, cart, ...); a log of sales alone has no conversion (None).
* money is rounded to cents after summing and carries the workspace's **currency** (recorded
  at ingest: ``--currency`` or the format's default; None when unknown).
* a period is **partial** when the data starts after its first day or ends before its end
  (a date without a time covers its day; an end in the period's last 1% covers it);
  partial periods are flagged and never ranked best.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, cast

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.expr.types import Table

from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables
from shopmind.features.transactions import NOT_SOLD_STATUSES

Interval = Literal["day", "week", "month"]
RefundsBy = Literal["order", "refund"]
INTERVALS = ("day", "week", "month")
_UNIT = {"day": "D", "week": "W", "month": "M"}
#: Metrics per period (``metrics_by_period``); money ones carry the currency.
PERIOD_METRICS = (
    "net_revenue",
    "gross_revenue",
    "refunds",
    "orders",
    "order_lines",
    "aov",
    "active_users",
    "customers",
    "new_customers",
    "returning_customers",
    "conversion",
)
MONEY = frozenset({"net_revenue", "gross_revenue", "refunds", "aov"})
#: Event types that are sales records, not browsing (conversion needs something else).
_SALES_TYPES = frozenset({"purchase", "refund"})


def money(value: float | None) -> float | None:
    """A summed amount rounded to cents (sums of floats carry noise like 503767.750000012)."""
    if value is None or value != value:
        return None
    return round(float(value), 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def currency(tables: Tables) -> str | None:
    """The currency of money figures: the orders' own, else the one recorded at ingest."""
    orders = tables["orders"]
    found = (
        orders.filter(orders.currency.notnull())
        .group_by("currency")
        .aggregate(n=lambda t: t.count())
        .order_by(ibis.desc("n"))
        .limit(1)
        .execute()
    )
    if len(found):
        return str(found["currency"].iloc[0])
    try:
        ingestions = tables.backend.table("ingestions")
    except Exception:  # a backend without the ingest log (Spark exports)
        return None
    code = ingestions.options.cast("json")["currency"].cast("string")
    rows = (
        ingestions.select(code=code, started_at=ingestions.started_at)
        .filter(lambda t: t.code.notnull() & (t.code != "null"))
        .order_by(ibis.desc("started_at"))
        .limit(1)
        .execute()
    )
    if not len(rows):
        return None
    value = str(rows["code"].iloc[0]).strip('"')
    return value if value and value != "null" else None


def order_lines(tables: Tables) -> Table:
    """One row per order line: ``order_key, user_id, ts, amount``; lines of an order that the
    ``orders`` table marks as not sold (``NOT_SOLD_STATUSES``) are left out."""
    e = tables.events()
    lines = sold_events(tables, e.filter(e.event_type == "purchase"))
    return lines.select(
        order_key=ibis.coalesce(lines.order_id, lines.event_id),
        user_id=lines.user_id,
        ts=lines.ts,
        amount=ibis.coalesce(lines.quantity, 1) * ibis.coalesce(lines.price, 0),
    )


def sold_events(tables: Tables, events: Table) -> Table:
    """``events`` less those of orders the ``orders`` table marks as not sold."""
    if "orders" not in tables.tables:
        return events
    return events.filter(is_sold(tables, events))


def is_sold(tables: Tables, events: Table) -> ir.BooleanValue:
    """True for events outside orders the ``orders`` table marks as not sold
    (``NOT_SOLD_STATUSES``): a cancelled order's purchase lines are False."""
    if "orders" not in tables.tables:
        return ibis.literal(True)
    orders = tables["orders"]
    unsold = orders.filter(orders.status.lower().isin(NOT_SOLD_STATUSES)).select("order_id")
    return events.order_id.isnull() | ~events.order_id.isin(unsold.order_id)


def refund_lines(tables: Tables) -> Table:
    """One row per refund: ``ts`` (refund time), ``order_ts`` (its order's time, else its own)
    and ``amount`` (positive)."""
    e = tables.events()
    refunds = sold_events(tables, e.filter(e.event_type == "refund"))
    refunds = refunds.select(
        order_key=refunds.order_id,
        ts=refunds.ts,
        amount=ibis.coalesce(refunds.quantity, 1) * ibis.coalesce(refunds.price, 0),
    )
    lines = order_lines(tables)
    placed = lines.group_by("order_key").aggregate(placed=lines.ts.min())
    joined = refunds.left_join(placed, refunds.order_key == placed.order_key)
    return joined.select(
        ts=joined.ts, order_ts=ibis.coalesce(joined.placed, joined.ts), amount=joined.amount
    )


def _has_prices(events: Table) -> bool:
    """Whether any purchase carries a price (a click log such as Taobao's has none)."""
    purchases = events.filter(events.event_type == "purchase")
    return int(purchases.price.count().execute()) > 0


def _has_browsing(tables: Tables) -> bool:
    return bool(tables.event_types() - _SALES_TYPES)


def summary(
    tables: Tables, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    """Headline figures over ``[start, end)`` (default: all data); refunds by refund date."""
    lines = order_lines(tables)
    refunds = refund_lines(tables)
    events = tables.events()
    if start is not None:
        lines, refunds = lines.filter(lines.ts >= start), refunds.filter(refunds.ts >= start)
        events = events.filter(events.ts >= start)
    if end is not None:
        lines, refunds = lines.filter(lines.ts < end), refunds.filter(refunds.ts < end)
        events = events.filter(events.ts < end)
    sold = (
        lines.aggregate(
            order_lines=lines.count(),
            orders=lines.order_key.nunique(),
            customers=lines.user_id.nunique(),
            guest_orders=ibis.ifelse(lines.user_id.isnull(), lines.order_key, None).nunique(),
            gross=lines.amount.sum(),
        )
        .execute()
        .iloc[0]
    )
    refunded = refunds.aggregate(n=refunds.count(), amount=refunds.amount.sum()).execute().iloc[0]
    seen = (
        events.aggregate(
            users=events.user_id.nunique(), first=events.ts.min(), last=events.ts.max()
        )
        .execute()
        .iloc[0]
    )
    orders = int(sold["orders"])
    customers = int(sold["customers"])
    users = int(seen["users"])
    sold_value = money(sold["gross"]) or 0.0
    refund_total: float | None = money(refunded["amount"]) or 0.0
    unpriced = orders > 0 and not _has_prices(events)  # a click log (Taobao)
    # unpriced: revenue is unknown, not 0; a refund total is kept when refunds carry prices
    gross = None if unpriced else sold_value
    net = None if unpriced else money(sold_value - (refund_total or 0.0)) or 0.0
    if unpriced and not (int(refunded["n"]) and refund_total):
        refund_total = None
    return {
        "currency": currency(tables),
        "timezone": tables.timezone,
        "first": _iso(seen["first"], tables.timezone),
        "last": _iso(seen["last"], tables.timezone),
        "order_lines": int(sold["order_lines"]),
        "orders": orders,
        "customers": customers,
        "guest_orders": int(sold["guest_orders"]),
        "gross_revenue": gross,
        "refunds": refund_total,
        "refund_lines": int(refunded["n"]),
        "net_revenue": net,
        "aov": money(net / orders) if orders and net is not None else None,
        "active_users": users,
        "conversion": customers / users if users and _has_browsing(tables) else None,
        "definitions": "docs/metrics.md",
        **({"prices": NO_PRICES} if unpriced else {}),
    }


#: What summaries say instead of money figures when no purchase carries a price.
NO_PRICES = "no purchase carries a price: revenue and AOV unknown"


def metrics_by_period(
    tables: Tables, interval: Interval = "week", refunds_by: RefundsBy = "order"
) -> dict[str, Any]:
    """Every metric of ``PERIOD_METRICS`` per day, week (ISO, Monday) or month, in the
    reporting time zone (``tables.timezone``, UTC unless ``SHOPMIND_TIMEZONE`` names one)."""
    if interval not in INTERVALS:
        raise AnalyticsError(
            f"Unknown interval '{interval}'.", hint=f"Use one of {', '.join(INTERVALS)}."
        )
    if refunds_by not in ("order", "refund"):
        raise AnalyticsError(f"Unknown refunds_by '{refunds_by}'.", hint="Use order or refund.")
    unit = _UNIT[interval]

    def period(ts: Any) -> Any:
        return ts.truncate(unit).date()

    lines = order_lines(tables)
    sold = (
        lines.mutate(period=period(lines.ts))
        .group_by("period")
        .aggregate(
            order_lines=lambda t: t.count(),
            orders=lambda t: t.order_key.nunique(),
            customers=lambda t: t.user_id.nunique(),
            gross_revenue=lambda t: t.amount.sum(),
        )
    )
    refunds = refund_lines(tables)
    dated = refunds.ts if refunds_by == "refund" else refunds.order_ts
    back = (
        refunds.mutate(period=period(dated))
        .group_by("period")
        .aggregate(refunds=lambda t: t.amount.sum())
    )
    firsts = lines.filter(lines.user_id.notnull())
    firsts = firsts.group_by("user_id").aggregate(first=firsts.ts.min())
    new = (
        firsts.mutate(period=period(firsts["first"]))
        .group_by("period")
        .aggregate(new_customers=lambda t: t.count())
    )
    events = tables.events()
    active = (
        events.mutate(period=period(events.ts))
        .group_by("period")
        .aggregate(active_users=lambda t: t.user_id.nunique())
    )
    frame = active.execute()
    for part in (sold, back, new):
        frame = frame.merge(part.execute(), on="period", how="outer")
    frame = _every_period(frame, interval)
    bounds = events.aggregate(first=events.ts.min(), last=events.ts.max()).execute().iloc[0]
    first, last = pd.Timestamp(bounds["first"]), pd.Timestamp(bounds["last"])
    browsing = _has_browsing(tables)
    priced = _has_prices(events) or frame.empty
    dates_only = tables.dates_only()
    points = []
    for row in frame.itertuples(index=False):
        begin = pd.Timestamp(cast(Any, row.period))
        finish = next_period(begin, interval)
        gross = _num(row.gross_revenue)
        refunded = _num(row.refunds)
        orders = int(_num(row.orders))
        customers = int(_num(row.customers))
        new_customers = int(_num(row.new_customers))
        users = int(_num(row.active_users))
        # without prices revenue is unknown in every period (see summary)
        net = (money(gross - refunded) or 0.0) if priced else None
        points.append(
            {
                "period": begin.date().isoformat(),
                "end": finish.date().isoformat(),
                "partial": period_partial(
                    begin, finish, tables.local(first), tables.local(last), dates_only
                ),
                "net_revenue": net,
                "gross_revenue": (money(gross) or 0.0) if priced else None,
                "refunds": money(refunded) or 0.0,
                "orders": orders,
                "order_lines": int(_num(row.order_lines)),
                "aov": money(net / orders) if orders and net is not None else None,
                "active_users": users,
                "customers": customers,
                "new_customers": new_customers,
                "returning_customers": customers - new_customers,
                "conversion": customers / users if users and browsing else None,
            }
        )
    return {
        "interval": interval,
        "refunds_by": refunds_by,
        "currency": currency(tables),
        "timezone": tables.timezone,
        "first": _iso(first, tables.timezone),
        "last": _iso(last, tables.timezone),
        "points": points,
    }


def best_period(points: list[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """The complete period with the highest ``metric`` (partial periods never rank; a series
    flat over its complete periods, or 0 in its only one, has no best one)."""
    complete = [p for p in points if not p["partial"] and p.get(metric) is not None]
    values = {p[metric] for p in complete}
    if not complete or (len(values) == 1 and (len(complete) > 1 or 0 in values)):
        return None
    return max(complete, key=lambda p: p[metric])


def _every_period(frame: pd.DataFrame, interval: str) -> pd.DataFrame:
    """``frame`` (one row per period with activity) with a row for every period between its
    first and last one: a day without orders is a 0, not a gap a chart draws a line over."""
    if frame.empty:
        return frame
    frame = frame.assign(period=pd.to_datetime(frame["period"]))
    every, at = [], pd.Timestamp(frame["period"].min())
    while at <= frame["period"].max():
        every.append(at)
        at = next_period(at, interval)
    return pd.DataFrame({"period": every}).merge(frame, on="period", how="left")


def _num(value: Any) -> float:
    return 0.0 if value is None or value != value else float(value)


def _iso(value: Any, zone: str | None = None) -> str | None:
    """ISO-8601 text of a timestamp, with the offset of ``zone`` when given."""
    if value is None or value != value:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert(zone) if zone and stamp.tzinfo else stamp).isoformat()


def next_period(begin: pd.Timestamp, interval: str) -> pd.Timestamp:
    """The start of the period after the one starting at ``begin`` (day, week or month)."""
    if interval == "month":
        return begin + pd.offsets.MonthBegin(1)
    return begin + timedelta(days=7 if interval == "week" else 1)


def period_partial(
    begin: pd.Timestamp,
    finish: pd.Timestamp,
    first: pd.Timestamp,
    last: pd.Timestamp,
    dates_only: bool = False,
) -> bool:
    """Partial: the data starts after the period's first day or ends before its end (all
    four naive wall-clock times of the reporting zone). With ``dates_only`` (every time a
    midnight: CDNOW's days, ``Tables.dates_only``) the last date covers its whole day, and a
    log that stops in the period's last 1% (Taobao's 23:59:23) covers it. The one rule of
    trends, retention and the report."""
    covered = last + (timedelta(days=1) if dates_only else timedelta(microseconds=1))
    slack = (finish - begin) * 0.01
    return bool(begin < first.normalize() or finish > covered + slack)


def timezone_note(workspace: Any, zone: str) -> str | None:
    """A note when periods are read in ``zone`` but the events were loaded as the time of
    another zone (a Taiwanese shop's log read in UTC puts its first day on the eve)."""
    with workspace.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT (options->>'timezone') AS zone FROM ingestions "
            "WHERE target = 'events' AND (options->>'timezone') IS NOT NULL"
        ).fetchall()
    loaded = sorted({str(r[0]) for r in rows})
    if not loaded or zone in loaded:
        return None
    return (
        f"days, weeks and months are read in {zone}; the events were loaded as "
        f"{', '.join(loaded)} time: set SHOPMIND_TIMEZONE={loaded[0]} to read them in the "
        "shop's own days"
    )


def workspace_currency(workspace: Any) -> str | None:
    """:func:`currency` of a workspace's tables (None for a workspace not created yet)."""
    from shopmind.features.tables import duckdb_tables

    if not workspace.exists():
        return None
    with duckdb_tables(workspace) as tables:
        return currency(tables)
