"""Independent pandas implementations used to check the Ibis analytics (plain loops, no
shared code with src/)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.store import Workspace
from tests.conftest import query


def events_frame(ws: Workspace) -> pd.DataFrame:
    rows = query(
        ws,
        "SELECT user_id, event_id, event_type, epoch_us(ts) // 1000000 AS t, quantity, "
        "price, order_id, ts FROM events WHERE user_id IS NOT NULL",
    )
    frame = pd.DataFrame(
        rows,
        columns=["user_id", "event_id", "event_type", "t", "quantity", "price", "order_id", "ts"],
    )
    # events in time order (event_id breaks ties); t in whole seconds, rounded down
    return frame.sort_values(["user_id", "ts", "event_id"], kind="stable")


def in_step_order(frame: pd.DataFrame, steps: list[str]) -> pd.DataFrame:
    """Events in time order, same-time events in step order (then event_id), as ordered
    funnels take them (ClickHouse's windowFunnel sorts by (time, step))."""
    rank = {name: i for i, name in reversed(list(enumerate(steps)))}
    step = frame["event_type"].map(rank).fillna(len(steps))
    ordered = frame.assign(_step=step).sort_values(["user_id", "ts", "_step", "event_id"])
    return ordered.drop(columns="_step")


def funnel_users(frame: pd.DataFrame, steps: list[str], window: int, order: str) -> list[int]:
    """Users reaching each step, by brute force per user."""
    if order == "ordered":
        frame = in_step_order(frame, steps)
    levels = []
    for _, user in frame.groupby("user_id", sort=False):
        types = user["event_type"].tolist()
        times = user["t"].tolist()
        best = 0
        for i, kind in enumerate(types):
            if order == "unordered":
                if kind not in steps:
                    continue
                seen = {
                    s
                    for s, t in zip(types[i:], times[i:], strict=True)
                    if s in steps and t - times[i] <= window
                }
                best = max(best, len(seen))
                continue
            if kind != steps[0]:
                continue
            level, pos = 1, i
            for step in steps[1:]:
                if order == "strict":
                    nxt = pos + 1 if pos + 1 < len(types) and types[pos + 1] == step else None
                else:
                    nxt = next((j for j in range(pos + 1, len(types)) if types[j] == step), None)
                if nxt is None or times[nxt] - times[i] > window:
                    break
                level, pos = level + 1, nxt
            best = max(best, level)
        levels.append(best)
    arr = np.array(levels)
    return [int((arr >= k).sum()) for k in range(1, len(steps) + 1)]


def retention_matrix(
    frame: pd.DataFrame, start: str, ret: str, period: str, periods: int
) -> dict[str, list[int]]:
    def bucket(ts: pd.Series) -> pd.Series:
        ts = pd.to_datetime(ts, utc=True)
        if period == "month":
            return ts.dt.year * 12 + ts.dt.month
        days = ts.dt.tz_localize(None).dt.normalize()
        if period == "week":
            days = days - pd.to_timedelta(days.dt.weekday, unit="D")
        return (days - pd.Timestamp("1970-01-05")).dt.days // (7 if period == "week" else 1)

    first = frame[frame["event_type"] == start].assign(b=lambda d: bucket(d["ts"]))
    cohort = first.groupby("user_id")["b"].min()
    back = frame[frame["event_type"] == ret].assign(b=lambda d: bucket(d["ts"]))
    out: dict[str, list[int]] = {}
    for c, members in cohort.groupby(cohort):
        users = set(members.index)
        row = [len(users)]
        for n in range(1, periods + 1):
            hits = back[(back["b"] == c + n) & back["user_id"].isin(users)]["user_id"].nunique()
            row.append(int(hits))
        out[str(c)] = row
    return out


def rfm_scores(frame: pd.DataFrame, reference: pd.Timestamp) -> pd.DataFrame:
    buys = frame[frame["event_type"] == "purchase"].copy()
    buys["amount"] = buys["quantity"].fillna(1) * buys["price"].fillna(0)
    buys["order"] = buys["order_id"].fillna(buys["event_id"])
    per = buys.groupby("user_id").agg(
        last=("ts", "max"), frequency=("order", "nunique"), monetary=("amount", "sum")
    )
    per["recency"] = (reference - pd.to_datetime(per["last"], utc=True)).dt.total_seconds() / 86400

    def score(values: pd.Series, ascending: bool) -> pd.Series:
        rank = values.rank(method="min", ascending=ascending)
        pr = (rank - 1) / max(len(values) - 1, 1)
        return np.minimum(np.floor(pr * 5).astype(int) + 1, 5)

    per["r"] = score(per["recency"], ascending=False)
    per["f"] = score(per["frequency"], ascending=True)
    if (frame.loc[frame["event_type"] == "purchase", "price"] > 0).any():
        per["m"] = score(per["monetary"], ascending=True)
    else:  # no prices (a click log): no monetary value, no M score
        per["monetary"], per["m"] = np.nan, np.nan
    return per
