"""Real-time scoring: one order in about a millisecond from precomputed and live state.

:class:`RiskScorer` keeps, in memory, each account's signup time, earlier orders, carts and
refunds, each link value's (device, IP, payment, address pseudonym) orders and accounts,
and the fraud-ring components. ``score(order)`` computes the same decision-time features
as :func:`shopmind.features.risk.order_features` (a test replays a shop through both and
compares them), scores them with the trained model and, unless ``observe=False``, records
the order so that the next one sees it in its velocities.

The state is built from an open connection (:meth:`RiskScorer.from_connection`: the service
passes its own cursor) or from a workspace it opens read-only (:meth:`from_workspace`, the
CLI and tests). One lock guards it: the service's writer thread feeds committed cart and
refund events (``record_event``) while requests score orders.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from shopmind.features.risk import WINDOWS
from shopmind.features.transactions import PURCHASE_ORDER_SQL
from shopmind.risk.rings import RingTracker
from shopmind.risk.workspace import WorkspaceRisk, known_bad_accounts, link_frame, order_labels
from shopmind.store import Workspace


@dataclass
class OrderInput:
    order_id: str
    user_id: str
    ts: float  # epoch seconds
    amount: float
    links: dict[str, str] = field(default_factory=dict)  # kind -> pseudonym
    items: list[tuple[float | None, float | None]] = field(default_factory=list)  # qty, price


@dataclass
class _Account:
    signup: float = math.nan
    order_times: list[float] = field(default_factory=list)
    amount_sum: float = 0.0
    carts: list[float] = field(default_factory=list)
    refunds: list[float] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)


def _in_window(times: list[float], start: float, end: float) -> int:
    """Entries in [start, end] of a sorted list (the Ibis range window's frame)."""
    return bisect.bisect_right(times, end) - bisect.bisect_left(times, start)


class RiskScorer:
    def __init__(self, risk: WorkspaceRisk) -> None:
        self.risk = risk
        self.accounts: dict[str, _Account] = defaultdict(_Account)
        self.value_times: dict[str, list[float]] = defaultdict(list)
        self.value_accounts: dict[str, set[str]] = defaultdict(set)
        self.rings = RingTracker(max_accounts=risk.max_link_accounts, hubs=risk.hubs)
        self.kinds = list(risk.links)
        self.lock = threading.RLock()

    # -- building the state -------------------------------------------------------------
    @classmethod
    def from_workspace(cls, workspace: Workspace, until: float | None = None) -> RiskScorer:
        """Load the trained model and replay the workspace's history, opening the workspace
        read-only (not inside ``shopmind serve``: use :meth:`from_connection` there)."""
        risk = WorkspaceRisk.load(workspace)
        with workspace.connect(read_only=True) as con:
            return cls.from_connection(con, risk, until)

    @classmethod
    def from_connection(
        cls, con: Any, risk: WorkspaceRisk, until: float | None = None
    ) -> RiskScorer:
        """Replay the history read on ``con`` (orders before ``until``, if given; carts and
        refunds all, they count only before each order) into a scorer of ``risk``."""
        scorer = cls(risk)
        users = con.execute(
            "SELECT user_id, epoch(signup_ts) FROM users WHERE signup_ts IS NOT NULL"
        ).fetchall()
        events = con.execute(
            "SELECT user_id, event_type, epoch(ts) AS s FROM events "
            "WHERE event_type IN ('cart', 'refund') AND user_id IS NOT NULL ORDER BY s"
        ).fetchall()
        orders = con.execute(
            "SELECT order_id, user_id, epoch(ts), coalesce(amount, 0) FROM orders "
            f"WHERE {PURCHASE_ORDER_SQL} ORDER BY ts, order_id"  # the rows training scores
        ).fetchall()
        linked = link_frame(con, risk.links).set_index("order_id")
        labels = order_labels(con)
        for user, signup in users:
            scorer.accounts[user].signup = float(signup)
        for user, kind, at in events:
            scorer.record_event(user, kind, float(at))
        for user, known in known_bad_accounts(labels, risk.label_delay_days).items():
            scorer.rings.mark_bad(user, known)
        for order_id, user, at, amount in orders:
            if until is not None and at >= until:
                break
            row = linked.loc[order_id] if order_id in linked.index else None
            links = {k: row[k] for k in scorer.kinds if row is not None and isinstance(row[k], str)}
            scorer.observe(OrderInput(order_id, user, float(at), float(amount), links))
        return scorer

    def mark_bad(self, user_id: str, at: float) -> None:
        """An account confirmed bad (a review decision) from ``at`` on."""
        with self.lock:
            self.rings.mark_bad(user_id, at)

    def record_event(self, user_id: str, event_type: str, at: float) -> None:
        """A live cart or refund event."""
        if event_type not in ("cart", "refund"):
            return
        with self.lock:
            account = self.accounts[user_id]
            target = account.carts if event_type == "cart" else account.refunds
            if target and at < target[-1]:
                bisect.insort(target, at)
            else:
                target.append(at)

    def observe(self, order: OrderInput) -> None:
        """Record an order (after scoring it)."""
        with self.lock:
            self._observe(order)

    def _observe(self, order: OrderInput) -> None:
        if not order.user_id:
            return
        account = self.accounts[order.user_id]
        bisect.insort(account.order_times, order.ts)
        account.amount_sum += order.amount
        for kind, value in order.links.items():
            key = f"{kind}:{value}"
            bisect.insort(self.value_times[key], order.ts)
            self.value_accounts[key].add(order.user_id)
            if kind == "device":
                account.devices.add(value)
        self.rings.observe(order.user_id, [f"{k}:{v}" for k, v in order.links.items()])

    # -- features and score -------------------------------------------------------------
    def features(self, order: OrderInput) -> dict[str, float]:
        """Decision-time features of ``order`` from the state (nothing recorded)."""
        t = order.ts
        account = self.accounts.get(order.user_id) or _Account()
        previous = bisect.bisect_left(account.order_times, t)
        out: dict[str, float] = {"amount": order.amount}
        out["account_age_days"] = (t - account.signup) / 86_400.0
        out["first_order"] = float(previous == 0)
        out["previous_orders"] = float(previous)
        mean = account.amount_sum / previous if previous else math.nan
        out["amount_vs_history"] = order.amount / mean if previous and mean > 0 else math.nan
        out["seconds_since_previous_order"] = (
            t - account.order_times[previous - 1] if previous else math.nan
        )
        hour = datetime.fromtimestamp(t, UTC).hour
        out["night_order"] = float(hour < 6)
        out["hour"] = float(hour)
        device = order.links.get("device")
        out["new_device"] = float(
            "device" in self.kinds
            and device is not None
            and previous > 0
            and device not in account.devices
        )
        for name, seconds in WINDOWS.items():
            for kind in self.kinds:
                value = order.links.get(kind)
                out[f"{kind}_orders_{name}"] = float(
                    _in_window(self.value_times.get(f"{kind}:{value}", []), t - seconds, t - 1e-6)
                    if value
                    else 0
                )
            out[f"user_orders_{name}"] = float(
                _in_window(account.order_times, t - seconds, t - 1e-6)
            )
            out[f"user_carts_{name}"] = float(_in_window(account.carts, t - seconds, t - 1e-6))
        for kind in self.kinds:
            value = order.links.get(kind)
            users = self.value_accounts.get(f"{kind}:{value}", set()) if value else set()
            out[f"{kind}_accounts"] = float(len(users | {order.user_id})) if value else 0.0
        refunds = bisect.bisect_right(account.refunds, t - 1e-6)
        out["refunds_before"] = float(refunds)
        out["refund_share"] = refunds / previous if previous else 0.0
        quantities = [1.0 if q is None else q for q, _ in order.items]
        prices = [p for _, p in order.items if p is not None]
        out["lines"] = float(len(order.items)) if order.items else math.nan
        out["max_quantity"] = max(quantities) if quantities else math.nan
        out["mean_unit_price"] = float(np.mean(prices)) if prices else math.nan
        size, share = self._ring_preview(order)
        out["ring_size"] = float(size)
        out["ring_known_bad_share"] = share
        return out

    def _ring_preview(self, order: OrderInput) -> tuple[int, float]:
        """Ring size and known-bad share as if the order's links were added."""
        tracker = self.rings
        account = order.user_id
        roots: set[str] = set()
        if account in tracker.parent:
            roots.add(tracker._find(account))
        for kind, value in order.links.items():
            key = f"{kind}:{value}"
            if key in tracker.hubs:
                continue
            users = tracker.value_accounts.get(key)
            if not users or (account not in users and len(users) >= tracker.max_accounts):
                continue
            roots.add(tracker._find(next(iter(users))))
        size = sum(tracker.size[r] for r in roots) + (account not in tracker.parent)
        if size <= 1:
            return 1, 0.0
        known = sum(1 for r in roots for when in tracker.bad_times[r] if when <= order.ts)
        own = tracker.known_bad.get(account)
        if own is not None and own <= order.ts and account in tracker.parent:
            known -= 1
        return size, known / (size - 1)

    def score(self, order: OrderInput, observe: bool = True, reasons: int = 3) -> dict[str, Any]:
        model = self.risk.model
        with self.lock:
            feats = self.features(order)
            if observe:
                self._observe(order)
        values = [feats.get(c, math.nan) for c in model.features_]
        if model.numeric_only():
            scores, texts = model.score_rows(np.array([values]), reasons)
            value, why = float(scores[0]), texts[0]
        else:
            row = pd.DataFrame([values], columns=model.features_)
            value = float(model.score(row)[0])
            why = [r["text"] for r in model.reasons(row, reasons)[0]] if reasons else []
        result = {
            "order_id": order.order_id,
            "risk_score": round(value, 4),
            "decision": str(model.decide(np.array([value]))[0]),
            "reasons": why,
            "mode": model.mode_,
            "features": feats,
        }
        return result
