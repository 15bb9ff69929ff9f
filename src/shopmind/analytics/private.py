"""Differentially private releases of aggregate reports, charged to the workspace's budget.

Each release reads one record per user (the privacy unit), builds an OpenDP measurement
(:mod:`shopmind.privacy.dp`), and draws the noise inside the transaction that records its
epsilon in the ledger (:func:`shopmind.store.privacy_budget.spend`). Contribution bounds:

* **segments**: each customer is in exactly one segment (RFM segment, or country with public
  keys): customers per segment have sensitivity 1; net revenue per customer (purchases minus
  refunds) is clamped to ``bounds`` (default [0, 5000] in the workspace currency) before
  summing, sensitivity ``max(|lower|, |upper|)``. Epsilon is split evenly between the two.
* **funnel**: each user is counted once, at the furthest step reached (sensitivity 1); the
  users per step (reached step j or further) are sums of those counts (post-processing).
* **retention** (first-time cohorts): each user is in one cohort and counts at most once in
  each of its ``periods + 1`` cells: sensitivity ``periods + 1``.

Keys (segment names, steps, cohort periods) are public: rule names, the query itself, and the
calendar periods between the data's first and last event (the time range is treated as
public). RFM scores are quintiles of the data, so one customer can move others across
segment boundaries; the guarantee covers the counts and sums given the segment assignment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from shopmind.analytics.funnel import FunnelQuery, funnel_levels
from shopmind.analytics.metrics import currency as data_currency
from shopmind.analytics.metrics import money, sold_events
from shopmind.analytics.retention import (
    Period,
    _bucket_start,
    _offset,
    _periods,
    _periods_between,
)
from shopmind.analytics.rfm import SEGMENT_RULES, rfm_table
from shopmind.errors import AnalyticsError
from shopmind.features.tables import Tables, duckdb_tables
from shopmind.privacy import dp
from shopmind.store import Workspace
from shopmind.store.privacy_budget import Charge, LedgerEntry, spend

#: Per-customer net revenue bounds (workspace currency) unless given: about the 95th
#: percentile of Online Retail customers (5 600 GBP); larger spenders are clamped.
DEFAULT_BOUNDS = (0.0, 5000.0)
RFM_KEYS = (*tuple(name for name, _, _ in SEGMENT_RULES), "Other")
SEGMENT_BY = ("rfm", "country")


# ---------------------------------------------------------------------------------------
# per-user records (true values; never returned by a release)
# ---------------------------------------------------------------------------------------


def segment_records(tables: Tables, by: str = "rfm") -> list[tuple[str, float]]:
    """One ``(segment, net revenue)`` per customer with a purchase."""
    events = tables.events()
    e = sold_events(
        tables,
        events.filter(events.user_id.notnull() & events.event_type.isin(["purchase", "refund"])),
    )
    amount = ibis.coalesce(e.quantity, 1) * ibis.coalesce(e.price, 0)
    signed = ibis.ifelse(e.event_type == "purchase", amount, -amount)
    net = e.group_by("user_id").aggregate(net=signed.sum())
    if by == "rfm":
        keyed = rfm_table(tables).select("user_id", key="segment")
    elif by == "country":
        users = tables["users"]
        buyers = e.filter(e.event_type == "purchase").select("user_id").distinct()
        joined = buyers.left_join(users, buyers.user_id == users.user_id)
        keyed = joined.select(user_id=buyers.user_id, key=joined.country.cast("string"))
        keyed = keyed.distinct(on="user_id", keep="first")
    else:
        raise AnalyticsError(
            f"Cannot release segments by '{by}'.", hint=f"Use one of: {', '.join(SEGMENT_BY)}."
        )
    joined = keyed.left_join(net, keyed.user_id == net.user_id)
    frame = joined.select(key=joined.key, net=ibis.coalesce(joined.net, 0.0)).execute()
    return [(str(k), float(v)) for k, v in zip(frame["key"], frame["net"], strict=True)]


def funnel_records(tables: Tables, query: FunnelQuery) -> list[int]:
    """The furthest step (1..k) per user who did step 1."""
    if query.by is not None:
        raise AnalyticsError("A private funnel has no breakdown.", hint="Drop --by.")
    levels = funnel_levels(tables, query).execute()
    return [int(v) for v in levels["level"]]


def retention_records(
    tables: Tables, start: str, return_: str, period: Period, periods: int
) -> tuple[list[tuple[str, frozenset[int]]], list[str], pd.Timestamp]:
    """``(cohort, offsets returned in 1..periods)`` per user, the public cohort keys (every
    period of the data's time range) and the start of the data's last period."""
    events = tables.events()
    tables.require_event_types([start, return_])
    starts = _periods(events, start, period)
    cohorts = starts.group_by("user_id").aggregate(cohort=starts.p.min())
    returns = _periods(events, return_, period).rename(r_user="user_id", r="p")
    joined = cohorts.inner_join(returns, cohorts.user_id == returns.r_user)
    joined = joined.select("user_id", offset=_offset(joined.r, joined.cohort, period))
    joined = joined.filter((joined.offset >= 1) & (joined.offset <= periods))
    who = cohorts.execute()
    back = joined.execute()
    offsets = back.groupby("user_id")["offset"].agg(lambda s: frozenset(int(v) for v in s))
    records = [
        (pd.Timestamp(c).date().isoformat(), offsets.get(u, frozenset()))
        for u, c in zip(who["user_id"], who["cohort"], strict=True)
    ]
    span = events.aggregate(first=events.ts.min(), last=events.ts.max()).execute().iloc[0]
    first, last = (tables.local(span[c]) for c in ("first", "last"))
    keys, cursor, end = [], _bucket_start(first, period), _bucket_start(last, period)
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1)}
    while cursor <= end:
        keys.append(cursor.date().isoformat())
        cursor = cursor + step.get(period, pd.DateOffset(months=1))
    return records, keys, end


# ---------------------------------------------------------------------------------------
# releases
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A release ready to be charged: the per-user records, the OpenDP plan and how the
    noisy vectors become the published result (post-processing only)."""

    kind: str
    description: str
    plan: dp.Plan
    records: Sequence[Any] = field(repr=False)
    finish: Callable[[dict[str, list[float]]], dict[str, Any]] = field(repr=False)

    def cost(self) -> Charge:
        noise = self.plan.describe()
        return Charge(
            kind=self.kind,
            query=self.description,
            epsilon=self.plan.epsilon,
            mechanism=" + ".join(sorted({str(n["mechanism"]) for n in noise.values()})),
            noise_scale={name: float(n["scale"]) for name, n in noise.items()},
        )

    def draw(self) -> dict[str, list[float]]:
        return self.plan.invoke(self.records)

    def publish(self, values: dict[str, list[float]], entry: LedgerEntry) -> dict[str, Any]:
        return {
            "release_id": entry.release_id,
            "kind": self.kind,
            "query": self.description,
            "epsilon": entry.epsilon,
            "delta": entry.delta,
            "privacy_unit": "one user",
            "noise": self.plan.describe(),
            **self.finish(values),
        }


def release(workspace: Workspace, prepared: Prepared, *, principal: str) -> dict[str, Any]:
    """Charge the budget and draw the noise in one transaction; the published result."""
    values, entry = spend(workspace, prepared.cost(), principal=principal, release=prepared.draw)
    return prepared.publish(values, entry)


def prepare_segments(
    tables: Tables,
    epsilon: float,
    *,
    by: str = "rfm",
    keys: Sequence[str] | None = None,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
) -> Prepared:
    """Customers and net revenue per segment (epsilon split evenly between the two)."""
    dp.check_epsilon(epsilon)
    if by == "country" and not keys:
        raise AnalyticsError(
            "A private release by country needs the countries named up front.",
            hint="Pass --keys GB,FR,DE (listing the countries found in the data would "
            "itself leak which ones have customers).",
        )
    segment_keys = tuple(keys) if keys else RFM_KEYS
    records = segment_records(tables, by)
    code = data_currency(tables)
    queries = [
        dp.count_by_key("customers", segment_keys, lambda r: r[0]),
        dp.clamped_sum_by_key("net_revenue", segment_keys, lambda r: r[0], lambda r: r[1], bounds),
    ]

    def finish(values: dict[str, list[float]]) -> dict[str, Any]:
        noisy = zip(segment_keys, values["customers"], values["net_revenue"], strict=True)
        # post-processing (no privacy cost): a count is never below 0, and a sum of values
        # clamped to [lower, upper] never below count x lower, so with lower >= 0 never below 0
        floor = 0.0 if bounds[0] >= 0 else None
        return {
            "by": by,
            "currency": code,
            "bounds": {"net_revenue_per_customer": list(bounds), "segments_per_customer": 1},
            "note": (
                f"net revenue is the sum of each customer's net revenue clamped to "
                f"[{bounds[0]:g}, {bounds[1]:g}]{' ' + code if code else ''}: segments with "
                "bigger spenders read lower than `analyze rfm` (--lower / --upper set the range)"
            ),
            "rows": [
                {
                    "segment": key,
                    "customers": max(round(c), 0),
                    "net_revenue": money(s if floor is None else max(s, floor)),
                }
                for key, c, s in noisy
            ],
        }

    description = (
        f"customers and net revenue by {by} segment; net revenue per customer clamped to "
        f"[{bounds[0]:g}, {bounds[1]:g}] {code or ''}".rstrip()
    )
    return Prepared("segments", description, dp.plan(queries, epsilon), records, finish)


def prepare_funnel(tables: Tables, query: FunnelQuery, epsilon: float) -> Prepared:
    """Users per funnel step (each user counted once per step reached)."""
    dp.check_epsilon(epsilon)
    records = funnel_records(tables, query)
    levels = tuple(str(k) for k in range(1, len(query.steps) + 1))
    plan = dp.plan([dp.count_by_key("furthest_step", levels, str)], epsilon)
    scale = plan.scales[0]

    def finish(values: dict[str, list[float]]) -> dict[str, Any]:
        exact = values["furthest_step"]
        steps = [
            {
                "name": name,
                "step": j + 1,
                "users": max(round(sum(exact[j:])), 0),  # post-processing: never below 0
                # a discrete Laplace of scale b has variance about 2 b^2 (b >~ 1)
                "noise_std": round(((len(exact) - j) * 2.0) ** 0.5 * scale, 6),
            }
            for j, name in enumerate(query.steps)
        ]
        return {"steps": steps, "bounds": {"counts_per_user_per_step": 1}}

    description = (
        f"funnel {','.join(query.steps)} ({query.order}, window {query.window_seconds}s): users "
        "per furthest step"
    )
    return Prepared("funnel", description, plan, records, finish)


def prepare_retention(
    tables: Tables,
    epsilon: float,
    *,
    start: str = "purchase",
    return_: str = "purchase",
    period: Period = "month",
    periods: int = 6,
) -> Prepared:
    """First-time retention cells (cohort size and users back in each later period)."""
    dp.check_epsilon(epsilon)
    if periods < 1:
        raise AnalyticsError("--periods must be at least 1.")
    records, cohort_keys, last_period = retention_records(tables, start, return_, period, periods)
    cells = [f"{c}|{n}" for c in cohort_keys for n in range(periods + 1)]

    def cells_of(record: tuple[str, frozenset[int]]) -> list[str]:
        cohort, back = record
        return [f"{cohort}|0", *(f"{cohort}|{n}" for n in sorted(back))]

    def finish(values: dict[str, list[float]]) -> dict[str, Any]:
        noisy = dict(zip(cells, values["cells"], strict=True))
        cohorts = []
        for cohort in cohort_keys:
            observable = _periods_between(pd.Timestamp(cohort), last_period, period)
            size = max(round(noisy[f"{cohort}|0"]), 0)  # post-processing: never below 0
            retained = [
                max(round(noisy[f"{cohort}|{n}"]), 0) if n <= observable else None
                for n in range(periods + 1)
            ]
            rates = [
                None if v is None or size <= 0 else round(min(max(v / size, 0.0), 1.0), 6)
                for v in retained
            ]
            cohorts.append({"cohort": cohort, "size": size, "retained": retained, "rates": rates})
        return {
            "period": period,
            "start": start,
            "return": return_,
            "mode": "first_time",
            "bounds": {"cells_per_user": periods + 1, "cohorts_per_user": 1},
            "cohorts": cohorts,
        }

    plan = dp.plan([dp.count_cells("cells", cells, cells_of, periods + 1)], epsilon)
    description = (
        f"first-time retention {start}->{return_} by {period}, {periods} periods: users per cell"
    )
    return Prepared("retention", description, plan, records, finish)


def release_segments(
    workspace: Workspace,
    epsilon: float,
    *,
    principal: str,
    by: str = "rfm",
    keys: Sequence[str] | None = None,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
) -> dict[str, Any]:
    """:func:`prepare_segments` on the workspace, charged and released."""
    with duckdb_tables(workspace) as tables:
        prepared = prepare_segments(tables, epsilon, by=by, keys=keys, bounds=bounds)
    return release(workspace, prepared, principal=principal)


def release_funnel(
    workspace: Workspace, query: FunnelQuery, epsilon: float, *, principal: str
) -> dict[str, Any]:
    """:func:`prepare_funnel` on the workspace, charged and released."""
    with duckdb_tables(workspace) as tables:
        prepared = prepare_funnel(tables, query, epsilon)
    return release(workspace, prepared, principal=principal)


def release_retention(
    workspace: Workspace,
    epsilon: float,
    *,
    principal: str,
    start: str = "purchase",
    return_: str = "purchase",
    period: Period = "month",
    periods: int = 6,
) -> dict[str, Any]:
    """:func:`prepare_retention` on the workspace, charged and released."""
    with duckdb_tables(workspace) as tables:
        prepared = prepare_retention(
            tables, epsilon, start=start, return_=return_, period=period, periods=periods
        )
    return release(workspace, prepared, principal=principal)


def release_table(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """A release as flat rows (for a table or a CSV): values with their noise scale."""
    noise = result["noise"]
    if result["kind"] == "segments":
        count_b, sum_b = noise["customers"]["scale"], noise["net_revenue"]["scale"]
        columns = ["segment", "customers", "customers_noise_scale", "net_revenue", "currency"]
        columns.append("net_revenue_noise_scale")
        rows = [
            [r["segment"], r["customers"], count_b, r["net_revenue"], result["currency"], sum_b]
            for r in result["rows"]
        ]
        return columns, rows
    if result["kind"] == "funnel":
        b = noise["furthest_step"]["scale"]
        columns = ["step", "name", "users", "noise_std", "noise_scale"]
        return columns, [
            [s["step"], s["name"], s["users"], s["noise_std"], b] for s in result["steps"]
        ]
    b = noise["cells"]["scale"]
    columns = ["cohort", "offset", "users", "rate", "noise_scale"]
    rows = [
        [c["cohort"], n, v, rate, b]
        for c in result["cohorts"]
        for n, (v, rate) in enumerate(zip(c["retained"], c["rates"], strict=True))
        if v is not None
    ]
    return columns, rows
