"""Risk benchmark: Fraud_Data through tabular mode, fraud rings of a simulated shop, and
the scoring endpoint's latency on loopback.

    python benchmarks/risk.py [--data ../shared/data/fraud_ecommerce/Fraud_Data_sample.csv]
        [--users 5000 --days 60] [--rate 200 --seconds 20] [--skip-latency]

1. Fraud_Data sample, stratified 70/30 split (seed 0): ``shopmind risk train --data train.csv
   --label class`` then ``risk score``; ROC-AUC, average precision and recall at 1% FPR of
   the supervised model and of the unsupervised detectors (``--mode unsupervised``).
   No hand-made features: the tabular mode decides everything from the columns.
2. A simulated shop (``shopmind simulate``): workspace-mode training on its labels, and the
   planted fraud rings recovered by ``risk rings`` (precision / recall of ring members).
3. ``POST /v1/risk/score`` on a real uvicorn server (the risk router on a bare FastAPI app)
   at a fixed open-loop rate; latency from each request's scheduled send time (no
   coordinated omission). Results: benchmarks/results/risk.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from _loadgen import free_port, get, open_loop, post_json, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "fraud_ecommerce" / "Fraud_Data_sample.csv"
ENV = {**os.environ, "SHOPMIND_PROFILE": "dev", "OPENBLAS_NUM_THREADS": "1"}


def _cli(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "shopmind", *args, "--json"],
        check=True,
        env=ENV,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def fraud_data(path: Path, tmp: Path) -> dict:
    from sklearn.model_selection import train_test_split

    from shopmind.models.risk import risk_metrics

    frame = pd.read_csv(path)
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["class"])
    train.to_csv(tmp / "train.csv", index=False)
    test.drop(columns=["class"]).to_csv(tmp / "test.csv", index=False)
    y = test["class"].to_numpy()
    result: dict = {"data": str(path), "train_rows": len(train), "test_rows": len(test)}
    for mode in ("auto", "unsupervised"):
        ws = str(tmp / f"ws_{mode}")
        start = time.perf_counter()
        report = _cli(
            "--workspace",
            ws,
            "risk",
            "train",
            "--data",
            str(tmp / "train.csv"),
            "--label",
            "class",
            "--mode",
            mode,
        )
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        _cli(
            "--workspace",
            ws,
            "risk",
            "score",
            "--data",
            str(tmp / "test.csv"),
            "--out",
            str(tmp / f"scores_{mode}.csv"),
        )
        score_s = time.perf_counter() - start
        scores = pd.read_csv(tmp / f"scores_{mode}.csv")
        assert list(scores["row"]) == list(range(len(test)))
        name = "supervised" if mode == "auto" else "unsupervised"
        result[name] = {
            "mode": report["mode"],
            "test": risk_metrics(y, scores["risk_score"].to_numpy()),
            "decisions": scores["decision"].value_counts().to_dict(),
            "train_seconds": round(fit_s, 1),
            "score_seconds": round(score_s, 1),
            "validation": report.get("validation"),
        }
        if mode == "auto":
            result["columns"] = report.get("columns")
    return result


def shop(tmp: Path, users: int, days: int) -> tuple[str, dict]:
    ws = str(tmp / "shop")
    _cli("--workspace", ws, "simulate", "--users", str(users), "--days", str(days), "--seed", "0")
    start = time.perf_counter()
    report = _cli("--workspace", ws, "risk", "train")
    train_s = time.perf_counter() - start
    rings = _cli("--workspace", ws, "risk", "rings", "--limit", "5")
    return ws, {
        "users": users,
        "days": days,
        "train_seconds": round(train_s, 1),
        "mode": report["mode"],
        "orders": report["orders"],
        "validation": report.get("validation"),
        "rings_found": len(rings["rings"]),
        "ring_recovery": rings.get("recovery"),
    }


# -- latency -------------------------------------------------------------------------------


def serve(workspace: str, port: int) -> None:
    """Run the risk router on a bare FastAPI app (the secured service adds keys/roles)."""
    import uvicorn
    from fastapi import FastAPI

    from shopmind.serving.routes import risk
    from shopmind.store import Workspace

    app = FastAPI()
    app.include_router(risk.router, prefix="/v1")
    risk.install(app, Workspace(Path(workspace)))
    app.state.risk_scorer = risk.RiskScorer.from_workspace(Workspace(Path(workspace)))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def latency(workspace: str, rate: float, seconds: float) -> dict:
    from shopmind.features.risk import link_keys
    from shopmind.store import Workspace

    with Workspace(Path(workspace)).connect(read_only=True) as con:
        keys = link_keys(con)
        rows = con.execute(
            f"SELECT user_id, amount, json_extract_string(attributes, '$.{keys['device']}'), "
            f"json_extract_string(attributes, '$.{keys['ip']}'), epoch(ts) FROM orders "
            "WHERE user_id IS NOT NULL"
        ).fetchall()
    last = max(r[4] for r in rows)
    rng = random.Random(0)
    n = int(rate * seconds)
    bodies: list[bytes] = []
    for i in range(n):
        user, amount, device, ip, _ = rng.choice(rows)
        ts = pd.Timestamp(last + 60 + i, unit="s", tz="UTC").isoformat()
        links = {k: v for k, v in (("device", device), ("ip", ip)) if v}
        bodies.append(
            post_json(
                "/v1/risk/score",
                json.dumps(
                    {
                        "order_id": f"bench{i}",
                        "user_id": user,
                        "amount": float(amount or 50),
                        "ts": ts,
                        "links": links,
                        "items": [{"quantity": 1, "price": float(amount or 50)}],
                    }
                ).encode(),
            )
        )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", workspace, "--port", str(port)], env=ENV
    )
    try:
        wait_for_port(port)
        open_loop(port, bodies[:200], 100, 8)  # warm-up (not recorded)
        health = open_loop(port, [get("/health")] * n, rate, 16)
        scored = open_loop(port, bodies, rate, 16)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "rate_rps": rate,
        "seconds": seconds,
        "cores": os.cpu_count(),
        "score": scored,
        "health_baseline": health,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--only-latency", action="store_true", help="skip Fraud_Data; keep other results"
    )
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/risk.json")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    result: dict = {}
    if args.only_latency and args.out.exists():
        result = json.loads(args.out.read_text())
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.data.exists() and not args.only_latency:
            result["fraud_data"] = fraud_data(args.data, tmp)
            print(json.dumps(result["fraud_data"]["supervised"]["test"]), flush=True)
        ws, result["simulated_shop"] = shop(tmp, args.users, args.days)
        print(json.dumps(result["simulated_shop"]["ring_recovery"]), flush=True)
        if not args.skip_latency:
            result["latency"] = latency(ws, args.rate, args.seconds)
    print(json.dumps(result, indent=1, default=str))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
