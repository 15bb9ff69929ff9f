"""How far can any propensity model go on one data set? A hindsight search for the README.

    python benchmarks/propensity_ceiling.py [--data ../shared/data] [--row taobao_purchase]
        [--out benchmarks/results/propensity_ceiling.json]

The honest number is ``shopmind propensity train`` (``benchmarks/propensity.py``): a model
chosen on the validation snapshot. This script asks a different question, to tell a weak
model from a target the data cannot give: it builds the same snapshots as the model
(``PropensityModel.snapshot`` / ``snapshot_times``: every labelled snapshot before the test
cutoff is training data) and scores the **test** period with

* every single feature of the model (the better direction, chosen on the test: hindsight),
* extra user signals the model does not have (the purchase rate of the categories and items a
  user touched, days with a purchase and their share of active days), in SQL here,
* a grid of L2 logistic regressions and LightGBM models over four feature sets (all, all plus
  the extra signals, purchase history, purchase history plus the extra signals),

and reports the best test ROC-AUC of all of them. Picking the best on the test is not a
valid evaluation: the maximum is an optimistic upper bound of what these signals give,
not a result to claim. Set OPENBLAS_NUM_THREADS=1 on a shared machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from propensity import ROWS, ingest_row  # noqa: E402  (the same rows, files, cutoffs)

#: Features that describe purchase history only (no browsing activity).
PURCHASE_HISTORY = (
    "orders",
    "purchases_per_active_day",
    "cart_to_purchase",
    "bought_items",
    "purchases_decayed",
    "rfm_r",
    "purchase_recency_days",
    "purchases_1d",
)
EXTRA_SQL = """
WITH e AS (
    SELECT e.user_id, e.item_id, i.category, e.event_type, e.ts
    FROM events e LEFT JOIN items i USING (item_id)
    WHERE e.user_id IS NOT NULL AND e.ts < ?
),
cat AS (SELECT category, avg((event_type = 'purchase')::INT) AS rate FROM e GROUP BY 1),
item AS (SELECT item_id, sum((event_type = 'purchase')::INT) AS buys FROM e GROUP BY 1),
touched AS (
    SELECT e.user_id, avg(cat.rate) AS category_purchase_rate,
           avg(ln(1 + item.buys)) AS item_purchases_log
    FROM e LEFT JOIN cat USING (category) LEFT JOIN item USING (item_id) GROUP BY 1
),
days AS (
    SELECT user_id, count(DISTINCT ts::DATE) AS active,
           count(DISTINCT CASE WHEN event_type = 'purchase' THEN ts::DATE END) AS purchase_days
    FROM e GROUP BY 1
)
SELECT user_id, category_purchase_rate, item_purchases_log, purchase_days,
       (purchase_days + 0.5) / (active + 1.0) AS purchase_day_share
FROM touched JOIN days USING (user_id)
"""
EXTRA = ("category_purchase_rate", "item_purchases_log", "purchase_days", "purchase_day_share")


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from shopmind.features.leakage import roc_auc

    return float(roc_auc(y, score))


def snapshots(ws: Path, train_args: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every labelled row before the test cutoff: the refit's rows, the test snapshot), as
    the model builds them, with the extra signals joined."""
    from shopmind.features.tables import duckdb_tables
    from shopmind.models.propensity import PropensityConfig, PropensityModel, event_span
    from shopmind.store import Workspace

    opts = dict(zip(train_args[::2], train_args[1::2], strict=True))
    horizon = timedelta(days=float(opts["--horizon"].rstrip("d")))
    config = PropensityConfig(target=opts["--target"], horizon_seconds=int(horizon.total_seconds()))
    model = PropensityModel(config)
    cutoff = datetime.fromisoformat(opts["--cutoff"])
    workspace = Workspace(ws)
    with duckdb_tables(workspace) as tables:
        first, _ = event_span(tables.events())
        train_at, recent_at = model.snapshot_times(first, cutoff)
        frames = {}
        for at in [cutoff, cutoff - horizon, *recent_at, *train_at]:
            frame = model.snapshot(tables, at)
            con = tables.backend.con
            extra = con.execute(EXTRA_SQL, [at.astimezone(UTC)]).df()
            frames[at] = frame.merge(extra, on="user_id", how="left").fillna(0.0)
    test = frames.pop(cutoff)
    return pd.concat(frames.values(), ignore_index=True), test


def _log_scaled(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    x = frame[cols].to_numpy(dtype=float)
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)))


def search(train: pd.DataFrame, test: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """Best test ROC-AUC over single features and a model grid (hindsight: see the docstring)."""
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression

    y_train, y_test = train["label"].to_numpy(int), test["label"].to_numpy(int)
    singles = {}
    for col in [*features, *EXTRA]:
        value = _auc(y_test, test[col].to_numpy(dtype=float))
        if not np.isnan(value):
            singles[col] = round(max(value, 1.0 - value), 4)
    history = [c for c in PURCHASE_HISTORY if c in features]
    sets = {
        "all": features,
        "all + extra": [*features, *EXTRA],
        "purchase history": history,
        "purchase history + extra": [*history, *EXTRA],
    }
    models = []
    for (name, cols), c in itertools.product(sets.items(), (0.003, 0.01, 0.03, 0.1, 1.0)):
        z_train, z_test = _log_scaled(train, cols), _log_scaled(test, cols)
        mean, scale = z_train.mean(axis=0), z_train.std(axis=0) + 1e-9
        fitted = LogisticRegression(C=c, max_iter=3000).fit((z_train - mean) / scale, y_train)
        score = fitted.decision_function((z_test - mean) / scale)
        models.append(
            {"model": f"logistic C={c}", "features": name, "roc_auc": _auc(y_test, score)}
        )
    grid = itertools.product(sets.items(), (2, 3, 7), (50, 150, 400), (0.01, 0.03))
    for (name, cols), leaves, trees, rate in grid:
        booster = lgb.LGBMClassifier(
            n_estimators=trees,
            learning_rate=rate,
            num_leaves=leaves,
            min_child_samples=20,
            reg_lambda=5.0,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=0,
            verbose=-1,
        ).fit(train[cols].to_numpy(dtype=float), y_train)
        score = booster.predict_proba(test[cols].to_numpy(dtype=float))[:, 1]
        models.append(
            {
                "model": f"lightgbm leaves={leaves} trees={trees} lr={rate}",
                "features": name,
                "roc_auc": _auc(y_test, score),
            }
        )
    models.sort(key=lambda m: -m["roc_auc"])
    best_single = max(singles.items(), key=lambda kv: kv[1])
    return {
        "test_rows": len(y_test),
        "test_positive_rate": round(float(y_test.mean()), 4),
        "training_rows": len(y_train),
        "best_single_feature_hindsight": {"feature": best_single[0], "roc_auc": best_single[1]},
        "single_features_hindsight": dict(sorted(singles.items(), key=lambda kv: -kv[1])),
        "models_tried": len(models),
        "best_models_hindsight": [{**m, "roc_auc": round(m["roc_auc"], 4)} for m in models[:5]],
        "ceiling_roc_auc": round(max(models[0]["roc_auc"], best_single[1]), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--row", choices=[r for r in ROWS if ROWS[r]["format"]], action="append")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/propensity_ceiling.json"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="sklearn")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.row or ["taobao_purchase"]:
            row = ROWS[name]
            print(f"{name}: ingesting {row['file']}", flush=True)
            ws = ingest_row(name, args.data, Path(scratch))
            train, test = snapshots(ws, row["train"])
            features = [c for c in test.columns if c not in ("user_id", "label", *EXTRA)]
            features = [c for c in features if test[c].nunique() > 1 or train[c].nunique() > 1]
            print(f"{name}: {len(train)} training rows; searching", flush=True)
            results[name] = {"train": row["train"], **search(train, test, features)}
            print(f"{name}: ceiling (hindsight) ROC-AUC {results[name]['ceiling_roc_auc']}")
    out = {
        "script": "python benchmarks/propensity_ceiling.py",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "best test ROC-AUC chosen on the test itself: an upper bound, not a result",
        "rows": results,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
