"""Risk features, known at decision time and never after.

Two sources:

* **Tabular mode** (:class:`TabularRiskFeatures`): any labelled file. Every column except the
  label (and an optional ``--id-col``) is a feature. Numbers stay numbers; text columns become
  categories; id-like, high-cardinality columns (device ids, card hashes, e-mails...) become
  *sharing* features instead of one-hot columns; timestamp-looking columns give the hour and
  weekday and the gaps between them (e.g. signup -> purchase seconds).

  Sharing features are computed over the rows the model knows: the training file when it
  trains; the training file plus the scoring file's own rows when it scores (a batch knows
  its own rows, as a shop knows every order it has seen). Where the file has a decision time
  (the latest timestamp column), the point-in-time versions count only rows up to that time.

* **Workspace mode** (:func:`order_features`): one row per order from the canonical tables,
  written once in Ibis (so it runs on DuckDB; the expression is backend-neutral). Every
  window ends at the order's own time and only strictly earlier rows are counted.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError

#: Categories kept per text column (the rest become "other").
MAX_CATEGORIES = 100
#: A text column with more distinct values than this (and than 5% of rows) is id-like.
ID_MIN_DISTINCT = 200
_ID_NAME = re.compile(
    r"(^id$|_id$|^id_|uuid|guid|device|fingerprint|token|hash$|^ip|_ip$|email)", re.I
)
_TIME_NAME = re.compile(r"(time|date|_at$|^ts$|_ts$|timestamp)", re.I)
_SECONDS_NAME = re.compile(r"(^time$|^step$|^seconds?$|dt$|elapsed)", re.I)


def is_time_index(values: pd.Series, name: str) -> bool:
    """A number that counts time through the file (PaySim ``step``, the credit-card ``Time``,
    IEEE-CIS ``TransactionDT``): rising in file order, with a time-like name or a value on
    most rows. As a feature it only says when a row came, and every later row looks unusual
    (held-out and new rows come after the training ones), so it is not one."""
    numeric = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(numeric) < 20 or len(numeric) < 0.95 * len(values):
        return False
    distinct = len(np.unique(numeric))
    if distinct < 20 or float((np.diff(numeric) >= 0).mean()) < 0.99:
        return False
    named = bool(_TIME_NAME.search(str(name)) or _SECONDS_NAME.search(str(name)))
    return named or distinct > 0.5 * len(numeric)


class RiskDataError(ShopmindError):
    """A labelled or scoring file cannot be used as asked."""


@dataclass
class ColumnPlan:
    """How one input column becomes features."""

    name: str
    kind: str  # numeric | category | timestamp | id | time_index (no feature) | leak (none)
    categories: list[str] = field(default_factory=list)  # category: kept values
    frequencies: dict[str, float] = field(default_factory=dict)  # category: share of rows
    time_format: str | None = None  # timestamp: strptime format or None (inferred)


def _is_numeric_text(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(2000)
    if sample.empty:
        return False
    parsed = pd.to_numeric(sample.str.strip(), errors="coerce")
    return bool(parsed.notna().mean() >= 0.98)


_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
)


def _time_format(values: pd.Series) -> str | bool | None:
    """A strptime format that reads >= 95% of the values, None for ISO-8601 with zones, or
    False when the values are not timestamps."""
    sample = values.dropna().astype(str).str.strip().head(2000)
    if sample.empty or not sample.str.contains(r"\d", regex=True).all():
        return False
    if not sample.str.contains(r"[-/.:]", regex=True).mean() >= 0.95:
        return False
    for fmt in _TIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().mean() >= 0.95:
            return fmt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", utc=True, format="ISO8601")
    if parsed.notna().mean() >= 0.95:
        return None
    return False


def parse_times(values: pd.Series, fmt: str | None) -> pd.Series:
    """Seconds since the epoch (float, NaN where unreadable); naive times are read as UTC."""
    text = values.astype("string").str.strip()
    if fmt is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    else:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce").dt.tz_localize("UTC")
    seconds = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return seconds.astype(float)


def plan_columns(frame: pd.DataFrame, exclude: set[str]) -> list[ColumnPlan]:
    """Decide each column's kind from the training file (documented in the module)."""
    plans = []
    n = max(len(frame), 1)
    for name in frame.columns:
        if name in exclude:
            continue
        values = frame[name]
        distinct = int(values.nunique(dropna=True))
        if distinct <= 1:
            continue  # constant: carries nothing
        if pd.api.types.is_numeric_dtype(values) and is_time_index(values, str(name)):
            plans.append(ColumnPlan(str(name), "time_index"))  # no feature (see is_time_index)
            continue
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            integer = pd.api.types.is_integer_dtype(values) or bool(
                (values.dropna() % 1 == 0).all()
            )
            if integer and _ID_NAME.search(str(name)) and distinct > 0.5 * n:
                plans.append(ColumnPlan(str(name), "id"))
            else:
                plans.append(ColumnPlan(str(name), "numeric"))
            continue
        if _is_numeric_text(values):
            plans.append(ColumnPlan(str(name), "numeric"))
            continue
        fmt = _time_format(values) if _TIME_NAME.search(str(name)) or distinct > 20 else False
        if fmt is not False:
            plans.append(ColumnPlan(str(name), "timestamp", time_format=fmt))  # type: ignore[arg-type]
            continue
        text = values.astype("string")
        if (distinct > ID_MIN_DISTINCT and distinct > 0.05 * n) or (
            _ID_NAME.search(str(name)) and distinct > 0.5 * n
        ):
            plans.append(ColumnPlan(str(name), "id"))
            continue
        counts = text.value_counts(dropna=True)
        kept = [str(v) for v in counts.index[:MAX_CATEGORIES]]
        plans.append(
            ColumnPlan(
                str(name),
                "category",
                categories=kept,
                frequencies={str(k): float(v) / n for k, v in counts.items()},
            )
        )
    return plans


@dataclass
class TabularRiskFeatures:
    """Turns a tabular file into model features; fitted on the training file.

    ``fit(frame)`` decides the column plan and keeps the training rows' id values and decision
    times (for sharing counts); ``transform(frame, training=False)`` returns one feature row
    per input row, in input order.
    """

    label: str | None = None
    id_col: str | None = None
    #: columns that give the label away (name -> why): never features
    leaks: dict[str, str] = field(default_factory=dict)
    plans_: list[ColumnPlan] = field(default_factory=list)
    decision_time_: str | None = None
    known_: pd.DataFrame | None = None  # id values + decision time of the training rows
    labels_: dict[str, str] = field(default_factory=dict)  # feature -> words
    columns_: list[str] = field(default_factory=list)  # input columns the plan needs

    def fit(self, frame: pd.DataFrame) -> TabularRiskFeatures:
        exclude = {c for c in (self.label, self.id_col) if c} | set(self.leaks)
        self.plans_ = plan_columns(frame, exclude)
        self.plans_ += [ColumnPlan(name, "leak") for name in self.leaks if name in frame.columns]
        if all(p.kind in ("leak", "time_index") for p in self.plans_):
            self.plans_ = []  # nothing left to learn from: the error below says so
        if not self.plans_:
            raise RiskDataError(
                "No usable feature column: every column other than the label is constant or "
                "excluded.",
                hint="Score a file with at least one varying column besides --label.",
            )
        # a scoring file needs the feature columns only (not a leak known after the fact)
        self.columns_ = [p.name for p in self.plans_ if p.kind not in ("leak", "time_index")]
        times = [p for p in self.plans_ if p.kind == "timestamp"]
        self.decision_time_ = None
        if times:
            parsed = pd.DataFrame(
                {p.name: parse_times(frame[p.name], p.time_format) for p in times}
            )
            # the decision time is the column that is most often the latest in its row
            latest = parsed.fillna(-np.inf).idxmax(axis=1).value_counts()
            self.decision_time_ = str(latest.index[0])
        self.known_ = self._id_frame(frame)
        if self.label and self.label in frame.columns:
            self.known_["_bad"] = label_values(frame[self.label]).to_numpy(dtype=float)
        return self

    def decision_times(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Seconds of the decision-time column per row (None without one)."""
        if not self.decision_time_:
            return None
        plan = next(p for p in self.plans_ if p.name == self.decision_time_)
        return parse_times(frame[plan.name], plan.time_format).to_numpy()

    @property
    def id_columns(self) -> list[str]:
        return [p.name for p in self.plans_ if p.kind == "id"]

    def _id_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=range(len(frame)))
        for name in self.id_columns:
            out[name] = frame[name].astype("string").to_numpy()
        if self.decision_time_:
            plan = next(p for p in self.plans_ if p.name == self.decision_time_)
            out["_t"] = parse_times(frame[plan.name], plan.time_format).to_numpy()
        return out

    def check_columns(self, frame: pd.DataFrame, what: str = "the scoring file") -> None:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise RiskDataError(
                f"{what} lacks column(s) the model was trained on: {', '.join(missing)} "
                f"(found: {', '.join(map(str, frame.columns))}).",
                hint="Score a file with the training file's columns (the label may be absent).",
            )

    def transform(
        self, frame: pd.DataFrame, training: bool = False, hidden: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Features of ``frame``; ``training=True`` for the training file itself, where
        ``hidden`` (row positions: the validation rows) keeps those rows' labels out of every
        ``known_bad`` count, as a new row's label is unknown when it is scored."""
        self.check_columns(frame)
        frame = frame.reset_index(drop=True)
        parts: dict[str, Any] = {}
        labels: dict[str, str] = {}
        times: dict[str, pd.Series] = {}
        for plan in self.plans_:
            if plan.name not in self.columns_:
                continue  # a leak or a time index: not read, not needed to score
            values = frame[plan.name]
            if plan.kind == "numeric":
                parts[plan.name] = pd.to_numeric(values, errors="coerce").astype(float)
                labels[plan.name] = plan.name
            elif plan.kind == "category":
                text = values.astype("string")
                kept = text.where(text.isin(plan.categories), "other")
                kept = kept.where(text.notna(), None)
                parts[plan.name] = pd.Categorical(kept, categories=[*plan.categories, "other"])
                labels[plan.name] = plan.name
            elif plan.kind == "timestamp":
                seconds = parse_times(values, plan.time_format)
                times[plan.name] = seconds
                stamp = pd.to_datetime(seconds, unit="s", utc=True)
                parts[f"{plan.name}:hour"] = stamp.dt.hour.astype(float)
                parts[f"{plan.name}:weekday"] = stamp.dt.day_of_week.astype(float)
                labels[f"{plan.name}:hour"] = f"hour of {plan.name}"
                labels[f"{plan.name}:weekday"] = f"weekday of {plan.name}"
        names = list(times)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                gap = times[b] - times[a]
                first, second = (a, b) if (gap.median() >= 0 or gap.isna().all()) else (b, a)
                key = f"{first}->{second}:seconds"
                parts[key] = (times[second] - times[first]).astype(float)
                labels[key] = f"seconds from {first} to {second}"
        sharing, sharing_labels = self._sharing(frame, training, hidden)
        parts.update(sharing)
        labels.update(sharing_labels)
        out = pd.DataFrame(parts, index=frame.index)
        self.labels_ = labels
        return out

    def _sharing(
        self, frame: pd.DataFrame, training: bool, hidden: np.ndarray | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Counts of known rows sharing each id-like value (and point-in-time versions)."""
        ids = self.id_columns
        if not ids:
            return {}, {}
        own = self._id_frame(frame)
        if training and self.known_ is not None and len(self.known_) == len(own):
            known = self.known_
            if hidden is not None and "_bad" in known.columns:
                known = known.copy()
                known.loc[np.asarray(hidden, dtype=int), "_bad"] = np.nan
        elif training or self.known_ is None:
            known = own
        else:
            known = pd.concat([self.known_, own], ignore_index=True)
        offset = 0 if training or self.known_ is None else len(self.known_)
        parts: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for name in ids:
            counts = known[name].value_counts(dropna=True)
            count = own[name].map(counts).astype(float)
            parts[f"{name}:rows"] = count.to_numpy()
            labels[f"{name}:rows"] = f"rows sharing this {name}"
            if "_bad" in known.columns:
                # known-bad rows among the *other* labelled rows with this value
                bad = known.groupby(name)["_bad"].agg(["sum", "count"])
                total = own[name].map(bad["sum"]).fillna(0.0).to_numpy(dtype=float)
                if training and self.known_ is not None:
                    total = total - known["_bad"].fillna(0.0).to_numpy()
                # 0 when no other labelled row shares the value: a scoring row whose partners
                # are all in the scoring file looks like a training row with good partners
                parts[f"{name}:known_bad"] = total
                labels[f"{name}:known_bad"] = f"other rows with this {name} already known bad"
            for other in ids:
                if other == name:
                    continue
                distinct = known.groupby(name)[other].nunique()
                parts[f"{name}:{other}s"] = own[name].map(distinct).astype(float).to_numpy()
                labels[f"{name}:{other}s"] = f"distinct {other} values on this {name}"
            if "_t" in known.columns:
                before, since = _point_in_time(known[name], known["_t"])
                window = slice(offset, offset + len(own))
                parts[f"{name}:rows_before"] = before[window]
                parts[f"{name}:seconds_since_previous"] = since[window]
                labels[f"{name}:rows_before"] = f"earlier rows with this {name}"
                labels[f"{name}:seconds_since_previous"] = (
                    f"seconds since this {name} was last seen"
                )
        return parts, labels


def label_values(values: pd.Series) -> pd.Series:
    """0/1 from a label column: 1, true, yes, fraud, bad (any case) are bad; NaN stays NaN."""
    text = values.astype("string").str.strip().str.lower()
    bad = text.isin(["1", "1.0", "true", "yes", "y", "fraud", "bad"])
    return bad.astype(float).where(text.notna())


def _point_in_time(values: pd.Series, times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row: rows with the same value at or before its time (itself excluded), and the
    seconds since the latest of them (NaN when none)."""
    frame = pd.DataFrame(
        {"v": values.to_numpy(), "t": times.to_numpy(), "i": np.arange(len(values))}
    )
    frame = frame[frame["v"].notna()].sort_values(["v", "t", "i"], kind="stable")
    before = np.full(len(values), np.nan)
    since = np.full(len(values), np.nan)
    if frame.empty:
        return before, since
    group = frame.groupby("v", sort=False)
    before[frame["i"].to_numpy()] = group.cumcount().to_numpy()
    since[frame["i"].to_numpy()] = (frame["t"] - group["t"].shift()).to_numpy()
    return before, since


# ---------------------------------------------------------------------------------------
# Workspace mode: order features at decision time, from the canonical tables (Ibis)
# ---------------------------------------------------------------------------------------

#: Velocity windows (seconds).
WINDOWS = {"1h": 3600, "24h": 86_400, "7d": 7 * 86_400}
#: Attribute names (in orders.attributes) that identify a device, a network or a payment.
LINK_KEYS = {
    "device": ("device_id", "device", "device_fingerprint", "fingerprint"),
    "ip": ("ip_address_hash", "ip_hash", "ip_address", "ip"),
    "payment": ("payment_token", "card_hash", "card_id", "payment_id", "card_fingerprint"),
    "address": ("address_hash", "shipping_address_hash", "address"),
}

ORDER_FEATURE_LABELS: dict[str, str] = {
    "amount": "order value",
    "account_age_days": "account age at the order (days)",
    "first_order": "first order of the account",
    "seconds_since_signup": "seconds from signup to this order",
    "previous_orders": "earlier orders of the account",
    "amount_vs_history": "order value / the account's mean earlier order",
    "seconds_since_previous_order": "seconds since the account's previous order",
    "refunds_before": "earlier refunds of the account",
    "refund_share": "share of earlier orders refunded",
    "night_order": "ordered at night (0-6 h)",
    "hour": "hour of the order",
    "lines": "lines in the basket",
    "max_quantity": "largest quantity of one item",
    "mean_unit_price": "mean unit price in the basket",
    "new_device": "device not used by the account before",
    "ring_size": "accounts linked by shared device/IP/payment/address",
    "ring_known_bad_share": "share of linked accounts already known bad",
}
for _w in WINDOWS:
    ORDER_FEATURE_LABELS[f"user_orders_{_w}"] = f"orders by the account in the last {_w}"
    ORDER_FEATURE_LABELS[f"user_carts_{_w}"] = f"add-to-carts by the account in the last {_w}"
    for _k in LINK_KEYS:
        ORDER_FEATURE_LABELS[f"{_k}_orders_{_w}"] = f"orders from this {_k} in the last {_w}"
for _k in LINK_KEYS:
    ORDER_FEATURE_LABELS[f"{_k}_accounts"] = f"accounts that used this {_k} so far"


def link_keys(con: Any) -> dict[str, str]:
    """Which attribute of ``orders.attributes`` holds each link kind (device, ip, ...)."""
    rows = con.execute(
        "SELECT DISTINCT unnest(json_keys(attributes)) FROM "
        "(SELECT attributes FROM orders WHERE attributes IS NOT NULL LIMIT 10000)"
    ).fetchall()
    present = {r[0] for r in rows}
    found = {}
    for kind, names in LINK_KEYS.items():
        # pseudonymised at ingest, an identifier keeps its name with a _hash suffix
        for name in [n for base in names for n in (base, f"{base}_hash")]:
            if name in present:
                found[kind] = name
                break
    return found


def order_features(tables: Any, links: dict[str, str]) -> Any:
    """One row per order: ``order_id, user_id, ts, <features>`` (Ibis table expression).

    Every count is over rows strictly before the order's time (velocities: the last 1 h,
    24 h, 7 d); ``links`` maps device/ip/payment/address to their attribute names.
    """
    import ibis

    from shopmind.features.transactions import purchase_orders

    # a refund is booked as an order row (status 'refund', negative amount): not one to score
    orders = purchase_orders(tables["orders"])
    text = ibis.dtype("string")
    o = orders.select(
        "order_id",
        "user_id",
        "ts",
        # the account an order's history is counted on: guest orders (no user id) have none,
        # each is its own (they are not one account that placed every guest order)
        _acct=ibis.coalesce(
            orders.user_id.cast(text), ibis.literal("guest:") + orders.order_id.cast(text)
        ),
        amount=ibis.coalesce(orders.amount, 0.0),
        **{kind: orders.attributes[key].str for kind, key in links.items()},
    )
    events = tables["events"]
    e = events.filter(events.event_type.isin(["cart", "refund"]) & events.user_id.notnull())
    # one timeline per user: orders (kind 0), carts (1), refunds (2)
    kinds = {"cart": 1, "refund": 2}
    timeline = o.select(
        user_id=o._acct,
        ts=o.ts,
        order_id=o.order_id.cast(text),
        kind=ibis.literal(0).cast("int64"),
    ).union(
        e.select(
            user_id=e.user_id.cast(text),
            ts=e.ts,
            order_id=ibis.null().cast(text),
            kind=e.event_type.cases(*kinds.items(), else_=3).cast("int64"),
        )
    )
    t = timeline.mutate(_s=timeline.ts.epoch_seconds())
    agg: dict[str, Any] = {}
    for name, seconds in WINDOWS.items():
        w = ibis.window(group_by=t.user_id, order_by=t._s, range=(-seconds, -1e-6))
        agg[f"user_orders_{name}"] = (t.kind == 0).cast("int64").sum().over(w)
        agg[f"user_carts_{name}"] = (t.kind == 1).cast("int64").sum().over(w)
    before = ibis.window(group_by=t.user_id, order_by=t._s, range=(None, -1e-6))
    agg["refunds_before"] = (t.kind == 2).cast("int64").sum().over(before)
    user_side = t.mutate(**agg).filter(t.kind == 0).drop("kind", "_s", "user_id", "ts")
    user_side = user_side.mutate(
        **{k: ibis.coalesce(user_side[k], 0) for k in user_side.columns if k != "order_id"}
    )
    # the account's earlier orders
    s = o.mutate(_s=o.ts.epoch_seconds())
    prior = ibis.window(group_by=s._acct, order_by=[s._s, s.order_id], rows=(None, -1))
    s = s.mutate(
        previous_orders=s.order_id.count().over(prior),
        previous_mean=s.amount.mean().over(prior),
        previous_ts=s._s.max().over(prior),
    )
    link_parts: dict[str, Any] = {}
    for kind in links:
        for name, seconds in WINDOWS.items():
            w = ibis.window(group_by=s[kind], order_by=s._s, range=(-seconds, -1e-6))
            link_parts[f"{kind}_orders_{name}"] = ibis.ifelse(
                s[kind].isnull(), 0, s.order_id.count().over(w)
            )
    s = s.mutate(**link_parts)
    # accounts per link value so far: each (value, account) pair counts from its first use
    for kind in links:
        first = ibis.window(group_by=[s[kind], s._acct], order_by=[s._s, s.order_id])
        # a guest order is no account: it adds none to the accounts seen on a link value
        is_first = (ibis.row_number().over(first) == 0) & s.user_id.notnull()
        s = s.mutate(**{f"_first_{kind}": is_first.cast("int64")})
        upto = ibis.window(group_by=s[kind], order_by=[s._s, s.order_id], rows=(None, 0))
        s = s.mutate(
            **{
                f"{kind}_accounts": ibis.ifelse(
                    s[kind].isnull(), 0, s[f"_first_{kind}"].sum().over(upto)
                )
            }
        )
    users = tables["users"].select("user_id", "signup_ts")
    s = s.left_join(users, "user_id")
    signup = s.signup_ts.epoch_seconds()
    hour = s.ts.hour()
    features = s.select(
        "order_id",
        "user_id",
        "ts",
        "amount",
        account_age_days=(s._s - signup) / 86_400.0,
        seconds_since_signup=s._s - signup,
        first_order=(s.previous_orders == 0).cast("int64"),
        previous_orders=s.previous_orders,
        amount_vs_history=ibis.ifelse(
            s.previous_mean > 0, s.amount / s.previous_mean, ibis.null().cast("float64")
        ),
        seconds_since_previous_order=s._s - s.previous_ts,
        night_order=(hour < 6).cast("int64"),
        hour=hour,
        new_device=(
            ((s._first_device == 1) & (s.previous_orders > 0)).cast("int64")
            if "device" in links
            else ibis.literal(0)
        ),
        **{k: s[k] for k in link_parts},
        **{f"{kind}_accounts": s[f"{kind}_accounts"] for kind in links},
    )
    features = features.left_join(user_side, "order_id").drop("order_id_right")
    basket = _basket(tables)
    features = features.left_join(basket, "order_id").drop("order_id_right")
    return features.mutate(
        refund_share=ibis.ifelse(
            features.previous_orders > 0,
            features.refunds_before / features.previous_orders,
            0.0,
        )
    )


def _basket(tables: Any) -> Any:
    """Lines, largest quantity and mean unit price of each order's purchase events."""
    import ibis

    events = tables["events"]
    p = events.filter((events.event_type == "purchase") & events.order_id.notnull())
    return p.group_by("order_id").aggregate(
        lines=p.count(),
        max_quantity=ibis.coalesce(p.quantity, 1).max(),
        mean_unit_price=p.price.mean(),
    )
