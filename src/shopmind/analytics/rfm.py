"""RFM: recency, frequency and monetary value per customer, quintile scores, named segments.

* recency: days from the customer's last purchase to the reference time (the day after the
  last event in the data, or ``as_of``);
* frequency: distinct orders (purchase events without an order id count one each);
* monetary: sum of quantity x price over purchases (gross, before refunds); NULL for every
  customer when no purchase has a price (click logs such as Taobao's), and then FM = F: a
  constant M would halve every FM and leave the top segments empty.

Scores 1..5 come from the percent rank (ties share a score): ``1 + floor(5 * percent_rank)``,
capped at 5; recency is ranked descending so that recent buyers score 5. ``FM`` is the
rounded-half-up mean of F and M. The segment is the first matching row of SEGMENT_RULES
(R and FM ranges, inclusive), a common 11-segment grid that covers all 25 (R, FM) cells.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
from ibis.expr.types import Table

from shopmind.analytics.metrics import sold_events
from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables

#: (segment, R range, FM range): the first match wins.
SEGMENT_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("Champions", (4, 5), (4, 5)),
    ("Loyal", (3, 3), (4, 5)),
    ("Potential loyalists", (4, 5), (2, 3)),
    ("New", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need attention", (3, 3), (2, 3)),
    ("About to sleep", (3, 3), (1, 1)),
    ("Can't lose", (1, 2), (5, 5)),
    ("At risk", (1, 2), (3, 4)),
    ("Hibernating", (2, 2), (1, 2)),
    ("Lost", (1, 1), (1, 2)),
)


def _score(rank: Any) -> Any:
    return ibis.least((rank * 5).floor().cast("int64") + 1, 5)


def rfm_table(tables: Tables, as_of: datetime | None = None) -> Table:
    """One row per customer: recency_days, frequency, monetary, r, f, m, fm, segment."""
    events = tables.events()
    buys = sold_events(  # not the lines of orders marked canceled (docs/metrics.md)
        tables, events.filter((events.event_type == "purchase") & events.user_id.notnull())
    )
    if int(buys.count().execute()) == 0:
        raise AnalyticsError(
            "No purchases by known users: RFM needs purchase events with user ids.",
            hint="Ingest orders or purchase events (e.g. --format online_retail).",
        )
    if as_of is None:
        last = events.ts.max().execute()
        reference = ibis.literal(last).truncate("D") + ibis.interval(days=1)
    else:
        reference = ibis.literal(as_of)
    priced = has_prices(tables)
    amount = ibis.coalesce(buys.quantity, 1) * ibis.coalesce(buys.price, 0)
    per = buys.group_by("user_id").aggregate(
        last_ts=buys.ts.max(),
        frequency=ibis.coalesce(buys.order_id, buys.event_id).nunique(),
        monetary=amount.sum() if priced else ibis.null("float64"),
    )
    per = per.mutate(
        recency_days=(reference.epoch_seconds() - per.last_ts.epoch_seconds()) / 86_400.0
    )
    per = per.mutate(
        r=_score(ibis.percent_rank().over(order_by=ibis.desc(per.recency_days))),
        f=_score(ibis.percent_rank().over(order_by=per.frequency)),
        m=_score(ibis.percent_rank().over(order_by=per.monetary)),
    )
    if priced:
        per = per.mutate(fm=((per.f + per.m + 1) / 2).floor().cast("int64"))
    else:
        per = per.mutate(m=ibis.null("int64"), fm=per.f)
    cases = [
        ((per.r >= r0) & (per.r <= r1) & (per.fm >= f0) & (per.fm <= f1), name)
        for name, (r0, r1), (f0, f1) in SEGMENT_RULES
    ]
    segment = ibis.cases(*cases, else_="Other")
    return per.mutate(segment=segment).select(
        "user_id", "recency_days", "frequency", "monetary", "r", "f", "m", "fm", "segment"
    )


def has_prices(tables: Tables) -> bool:
    """Whether any purchase event has a positive price (else there is no monetary value)."""
    events = tables.events()
    priced = events.filter((events.event_type == "purchase") & (events.price > 0))
    return bool(priced.limit(1).count().execute())


#: Below this many days of data, RFM's segment names say more than the data can.
SHORT_SPAN_DAYS = 30


def rfm(tables: Tables, as_of: datetime | None = None) -> dict[str, Any]:
    """Segment sizes and means (the per-customer table is ``rfm_table``); ``has_prices``
    False means M was left out (``mean_monetary`` None)."""
    table = rfm_table(tables, as_of)
    priced = has_prices(tables)
    summary = (
        table.group_by("segment")
        .aggregate(
            customers=table.count(),
            recency_days=table.recency_days.mean(),
            frequency=table.frequency.mean(),
            monetary=table.monetary.mean(),
        )
        .execute()
    )
    order = {name: i for i, (name, _, _) in enumerate(SEGMENT_RULES)}
    summary = summary.sort_values("segment", key=lambda s: s.map(order))
    total = int(summary["customers"].sum())
    events = tables.events()
    span = (events.ts.max().epoch_seconds() - events.ts.min().epoch_seconds()).execute()
    span_days = float(span or 0) / 86_400
    extra: dict[str, Any] = {}
    if span_days < SHORT_SPAN_DAYS:
        # scores rank customers against each other: in 9 days "Lost" is last week's buyer
        extra["note"] = (
            f"the data span {span_days:.0f} days: recency scores rank customers within that "
            "window, so 'Lost' or 'At risk' mean least recent here, not gone"
        )
    one_order = total > 0 and float(table.frequency.max().execute() or 0) <= 1
    if one_order:  # Fraud_Data: every customer's one purchase
        notes = [extra["note"]] if "note" in extra else []
        extra["note"] = "; ".join(
            [
                *notes,
                "every customer bought once: frequency tells no one apart, so the segments "
                "rank recency and spend only ('loyal' names do not mean repeat buyers here)",
            ]
        )
    return {
        "customers": total,
        "segments": [
            {
                "name": row.segment,
                "customers": int(row.customers),
                "share": round(int(row.customers) / total, 6),
                "mean_recency_days": round(float(row.recency_days), 3),
                "mean_frequency": round(float(row.frequency), 3),
                "mean_monetary": round(float(row.monetary), 2) if priced else None,
            }
            for row in summary.itertuples()
        ],
        "rules": [{"name": n, "r": list(r), "fm": list(f)} for n, r, f in SEGMENT_RULES],
        "has_prices": priced,
        **extra,
    }


def export_members(
    tables: Tables, out: Path, *, segment: str | None = None, as_of: datetime | None = None
) -> int:
    """Write the per-customer RFM table (optionally one segment) as CSV for activation;
    returns the rows written. User ids stay as stored (pseudonyms when the load pseudonymised:
    original ids only through ``shopmind audience export --reveal``)."""
    table = rfm_table(tables, as_of)
    if segment is not None:
        names = [name for name, _, _ in SEGMENT_RULES] + ["Other"]
        if segment not in names:
            raise AnalyticsError(
                f"Unknown RFM segment {segment!r}.",
                hint="Segments: " + ", ".join(names) + " (see `shopmind analyze rfm`).",
            )
        table = table.filter(table.segment == segment)
    frame = table.drop("fm").order_by("user_id").execute()
    frame["recency_days"] = frame["recency_days"].round(3)
    frame["monetary"] = frame["monetary"].round(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    return len(frame)
