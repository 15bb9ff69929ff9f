"""Explanation speed: SHAP reasons for a whole user base, rows/s.

    python benchmarks/marketing.py [--users 50000]

A simulated shop, a purchase-propensity model, then the per-user top-3 reasons for every
user (LightGBM's built-in TreeSHAP, as ``propensity score`` uses) against the ``shap``
package's TreeExplainer on the same model and rows, timed in the same run (its construction
timed apart from the values). TreeExplainer calls the same LightGBM routine, so equality with
it is no proof of correctness: tests/models/test_shap_exact.py checks the values against
exact Shapley values computed by brute force over all feature subsets.
Results: benchmarks/results/marketing.json (``--out`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from shopmind.features.tables import duckdb_tables
from shopmind.models.propensity import PropensityConfig, PropensityModel
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/marketing.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        write_shop(
            ws,
            simulate_shop(SimulationConfig(users=args.users, days=60, seed=4)),
            key=b"benchmark-key-0123456789",
        )
        config = PropensityConfig(horizon_seconds=7 * 86_400, cutoff="2025-02-20T00:00:00+00:00")
        with duckdb_tables(ws) as tables:
            model = PropensityModel(config).fit(tables)
            features = model.snapshot(tables, model.cutoff_, labelled=False)
    start = time.perf_counter()
    reasons = model.reasons(features)
    ours = time.perf_counter() - start
    # the trees compared: the chosen LightGBM, or the LightGBM part of a chosen ensemble
    trees = next((p for p in [model.model_, *model.model_.parts_] if p.kind == "lightgbm"), None)
    if trees is None:  # a linear or one-feature scorer won validation
        raise SystemExit(f"propensity chose {model.model_.kind}: no trees to compare")
    import shap

    x = features.reindex(columns=model.feature_names_, fill_value=0.0).to_numpy(dtype=float)
    start = time.perf_counter()
    explainer = shap.TreeExplainer(trees.model)
    construction = time.perf_counter() - start
    start = time.perf_counter()
    values = explainer.shap_values(x)
    baseline = time.perf_counter() - start
    ours_values = trees.contributions(x)
    shap_values = values[1] if isinstance(values, list) else values
    agree = float(np.abs(ours_values - shap_values).max())
    result = {
        "users": len(features),
        "reasons_s": round(ours, 3),
        "reasons_rows_per_s": round(len(features) / ours),
        "shap_explainer_construction_s": round(construction, 3),
        "shap_treeexplainer_s": round(baseline, 3),
        "shap_rows_per_s": round(len(features) / baseline),
        "max_abs_difference": agree,
        "example": reasons[0],
    }
    print(json.dumps(result, indent=2))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
