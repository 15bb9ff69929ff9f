"""Analytics speed: shopmind (Ibis on DuckDB) against straightforward pandas, same run.

    python benchmarks/analytics.py [--events 1000000 10000000] [--keep DIR] [--repeat N]

For each size a simulated shop is written to a temporary workspace (with ``--keep DIR`` to
``DIR/ws-<events>``, reused by later runs: writing 10M events takes minutes); each (analysis,
engine) runs in a fresh subprocess that reports its wall time, its CPU time (all threads; the
machine may be shared, so both are kept) and peak RSS (VmHWM), so memory numbers are not mixed.
With ``--repeat N`` both engines run N times in turns and the fastest run of each is kept.
pandas reads the events table into memory first (not timed: it is the cost of having the data
in pandas at all, but its memory counts in the peak).

Fair baselines: each pandas baseline does only the work its analysis needs (only sessions
sort every event; the funnel sorts the rows of its steps for ``merge_asof``). Whole results
are compared, not one number: the funnel's per-step users, the whole retention matrix and
the per-user R, F, M scores and session counts (as sha256 digests of their sorted rows).
``sessions`` builds one row per session (start, end, events, duration, as ``analyze
sessions`` uses them: ``session_stats``) on both engines and compares per-user totals of
those rows (sessions, events, seconds); ``session_counts`` counts sessions per user only
(``sessions_per_user`` against a pandas baseline that counts gap starts). ``funnel_floor``
times one window over the funnel's step events by user and time (no funnel logic) against
the pandas funnel: the most any funnel that sorts its step events once can gain. Results:
benchmarks/results/analytics.json (the 1-minute load average is recorded with each row).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ANALYSES = ("funnel", "retention", "rfm", "sessions", "session_counts", "funnel_floor")

WORKER = r"""
import hashlib, json, resource, sys, time
from pathlib import Path
engine, analysis, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
from shopmind.store import Workspace
ws = Workspace(root)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)  # this process, all its threads
    return r.ru_utime + r.ru_stime


def digest(rows):
    # a whole result as one comparable value: sha256 of its sorted rows
    text = "\n".join(sorted("|".join(str(v) for v in row) for row in rows))
    return {"rows": len(rows), "sha256": hashlib.sha256(text.encode()).hexdigest()[:16]}


if engine == "shopmind":
    from shopmind.features.tables import duckdb_tables
    from shopmind.analytics.funnel import FunnelQuery, funnel
    from shopmind.analytics.retention import retention
    from shopmind.analytics.rfm import rfm_table
    from shopmind.analytics.sessions import session_stats
    from shopmind.features.sessions import sessions_per_user
    with duckdb_tables(ws) as t:
        t.event_types()  # cached once per Tables; not part of any analysis
        start, cpu0 = time.perf_counter(), cpu()
        if analysis == "funnel":
            res = funnel(t, FunnelQuery(("view", "cart", "purchase"), 86400))["steps"]
        elif analysis == "funnel_floor":  # one window over the step events, nothing else
            con = t.backend.con
            res = con.execute(
                "SELECT count(*) FILTER (WHERE nxt IS NULL) FROM (SELECT lead(event_type) "
                "OVER (PARTITION BY user_id ORDER BY ts) AS nxt FROM events WHERE user_id "
                "IS NOT NULL AND event_type IN ('view', 'cart', 'purchase'))").fetchone()[0]
        elif analysis == "retention":
            res = retention(t, "purchase", "purchase", "week")["cohorts"]
        elif analysis == "rfm":
            res = rfm_table(t).select("user_id", "r", "f", "m").execute()
        elif analysis == "sessions":
            st = session_stats(t.events(), source_ids=False)
            res = st.group_by("user_id").aggregate(
                n=st.count(), events=st.events.sum(), seconds=st.duration_seconds.sum()
            ).execute()
        else:
            ev = t.events()
            res = sessions_per_user(ev.filter(ev.user_id.notnull())).execute()
        seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
    if analysis == "funnel":
        out = [s["users"] for s in res]
    elif analysis == "funnel_floor":  # users with a step event: the funnel's first count
        out = int(res)
    elif analysis == "retention":  # cells not observable yet are None; pandas counts them 0
        out = digest([(c["cohort"], *[v or 0 for v in c["retained"]]) for c in res])
    elif analysis == "rfm":
        out = digest(list(res.itertuples(index=False)))
    else:
        out = digest(list(res.itertuples(index=False)))
else:
    import numpy as np, pandas as pd
    with ws.connect(read_only=True) as con:
        e = con.execute("SELECT user_id, event_id, event_type, ts, quantity, price, order_id "
                        "FROM events WHERE user_id IS NOT NULL").df()
    start, cpu0 = time.perf_counter(), cpu()
    # each baseline does only the work its analysis needs: only sessions sort every event
    if analysis in ("funnel", "funnel_floor"):
        steps = ["view", "cart", "purchase"]
        f = e[e.event_type.isin(steps)]
        t = f["ts"].dt.tz_convert(None).astype("datetime64[s]").astype("int64")
        f = f.assign(t=t)
        chain = f[f.event_type == steps[0]][["user_id", "t"]].rename(columns={"t": "t1"})
        chain["prev"] = chain["t1"]
        for k, step in enumerate(steps[1:], start=2):
            nxt = f[f.event_type == step][["user_id", "t"]].rename(columns={"t": f"t{k}"})
            nxt = nxt.sort_values(f"t{k}")
            chain = pd.merge_asof(chain.sort_values("prev"), nxt, left_on="prev",
                                  right_on=f"t{k}", by="user_id", direction="forward",
                                  allow_exact_matches=False)
            chain["prev"] = chain[f"t{k}"].fillna(2**62).astype("int64")
        level = pd.Series(1, index=chain.index)
        ok = pd.Series(True, index=chain.index)
        for k in range(2, len(steps) + 1):
            ok &= (chain[f"t{k}"] - chain["t1"]) <= 86400
            level += ok.astype(int)
        best = chain.assign(level=level).groupby("user_id")["level"].max()
        res = [int((best >= k).sum()) for k in range(1, len(steps) + 1)]
    elif analysis == "retention":
        p = e.loc[e.event_type == "purchase", ["user_id", "ts"]]
        day = p["ts"].dt.tz_convert(None).dt.normalize()
        week = day - pd.to_timedelta(day.dt.weekday, unit="D")
        p = pd.DataFrame({"user_id": p["user_id"].to_numpy(), "week": week.to_numpy()})
        cohort = p.groupby("user_id")["week"].min().rename("cohort")
        p = p.join(cohort, on="user_id")
        p["offset"] = (p["week"] - p["cohort"]).dt.days // 7
        res = (p[(p.offset >= 0) & (p.offset <= 8)].groupby(["cohort", "offset"])["user_id"]
               .nunique().unstack(fill_value=0).reindex(columns=range(9), fill_value=0))
    elif analysis == "rfm":
        b = e[e.event_type == "purchase"]
        b = b.assign(amount=b["quantity"].fillna(1) * b["price"].fillna(0),
                     order=b["order_id"].fillna(b["event_id"]))
        per = b.groupby("user_id").agg(
            last=("ts", "max"), f=("order", "nunique"), m=("amount", "sum"))
        ref = e["ts"].max().normalize() + pd.Timedelta(days=1)
        per["recency"] = (ref - per["last"]).dt.total_seconds() / 86400
        for col, asc in (("recency", False), ("f", True), ("m", True)):
            pr = (per[col].rank(method="min", ascending=asc) - 1) / max(len(per) - 1, 1)
            per[col + "_score"] = np.minimum(np.floor(pr * 5).astype(int) + 1, 5)
        res = per
    else:
        s = e.sort_values(["user_id", "ts", "event_id"])
        gap = s.groupby("user_id")["ts"].diff().dt.total_seconds()
        new = (gap.isna() | (gap > 1800)).astype(int)
        if analysis == "session_counts":
            res = new.groupby(s["user_id"]).sum()
        else:  # one row per session (start, end, events, whole seconds), then per user
            us = s["ts"].dt.tz_convert(None).astype("datetime64[us]").astype("int64")
            per = pd.DataFrame({"user_id": s["user_id"].to_numpy(), "n": new.cumsum().to_numpy(),
                                "us": us.to_numpy()})
            st = per.groupby(["user_id", "n"], sort=False)["us"].agg(["min", "max", "size"])
            st["seconds"] = (st["max"] - st["min"]) // 1_000_000
            res = st.groupby(level="user_id").agg(
                n=("size", "count"), events=("size", "sum"), seconds=("seconds", "sum"))
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
    if analysis == "funnel":
        out = res
    elif analysis == "funnel_floor":  # the pandas funnel itself: the floor has no result
        out = res
    elif analysis == "retention":
        out = digest([(pd.Timestamp(c).date().isoformat(), *map(int, row))
                      for c, row in res.iterrows()])
    elif analysis == "rfm":
        out = digest([(u, int(r.recency_score), int(r.f_score), int(r.m_score))
                      for u, r in res.iterrows()])
    elif analysis == "session_counts":
        out = digest([(u, int(n)) for u, n in res.items()])
    else:
        out = digest([(u, int(r.n), int(r.events), int(r.seconds)) for u, r in res.iterrows()])
# VmHWM is this process's own peak RSS (ru_maxrss would include the forking parent's)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status")
               if line.startswith("VmHWM"))
peak_mb = peak_kb / 1024
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb,
                  "result": out}))
"""


def run(engine: str, analysis: str, root: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, engine, analysis, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} {analysis} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def workspace(events: int, folder: Path) -> tuple[Path, int]:
    """The simulated shop of about ``events`` events under ``folder`` (written once)."""
    from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
    from shopmind.store import Workspace

    root = folder / f"ws-{events}"
    ws = Workspace(root)
    if not ws.exists():
        shop = simulate_shop(SimulationConfig(users=max(200, events // 118), days=90, seed=1))
        write_shop(ws, shop, key=b"benchmark-key-0123456789")
        del shop
    with ws.connect(read_only=True) as con:
        row = con.execute("SELECT count(*) FROM events").fetchone()
    return root, int(row[0]) if row else 0


def measure(events: int, folder: Path, analyses: list[str], repeat: int) -> list[dict[str, Any]]:
    root, n = workspace(events, folder)
    rows = []
    for analysis in analyses:
        runs: dict[str, list[dict[str, Any]]] = {"shopmind": [], "pandas": []}
        for _ in range(repeat):  # in turns, so both see the same machine load
            for engine in runs:
                runs[engine].append(run(engine, analysis, root) | {"load": os.getloadavg()[0]})
        ours = min(runs["shopmind"], key=lambda r: r["seconds"])
        base = min(runs["pandas"], key=lambda r: r["seconds"])
        row = {
            "events": n,
            "analysis": analysis,
            "shopmind_s": round(ours["seconds"], 3),
            "pandas_s": round(base["seconds"], 3),
            "speedup": round(base["seconds"] / ours["seconds"], 2),
            "shopmind_cpu_s": round(ours["cpu_seconds"], 3),
            "pandas_cpu_s": round(base["cpu_seconds"], 3),
            "shopmind_peak_mb": round(ours["peak_mb"]),
            "pandas_peak_mb": round(base["peak_mb"]),
            "load_1min": [round(ours["load"], 2), round(base["load"], 2)],
            # the floor is no funnel: its speedup bounds what one sort-based funnel can reach
            "same_result": None if analysis == "funnel_floor" else ours["result"] == base["result"],
            "result": ours["result"],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--analyses", nargs="+", choices=ANALYSES, default=list(ANALYSES))
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the workspaces here")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; fastest kept")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/analytics.json")
    args = parser.parse_args()
    results = []
    for events in args.events:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            results += measure(events, args.keep, args.analyses, args.repeat)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                results += measure(events, Path(tmp), args.analyses, args.repeat)
    args.out.write_text(json.dumps({"results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
