"""Purchase propensity: held-out ROC-AUC / PR-AUC and calibration of the saved model."""

from __future__ import annotations

import html

from shopmind.reports import charts
from shopmind.reports.fragments import chart, table
from shopmind.store import Workspace

TITLE = "Purchase propensity"
ANCHOR = "propensity"
NOTE = (
    "No propensity model yet: run <code>shopmind propensity train --target "
    "purchase --horizon 7d --cutoff ...</code>."
)


def build(workspace: Workspace) -> str | None:
    from shopmind.models.propensity import PropensityModel

    path = workspace.models_dir / "propensity" / "model.pkl"
    if not path.exists():
        return None
    model = PropensityModel.load(path)
    r = model.report_
    chosen = r.get("chosen_model") or {**r["lightgbm"], "name": "lightgbm"}
    rows = [
        [f"chosen: {chosen['name']}", f"{chosen['roc_auc']:.3f}", f"{chosen['pr_auc']:.3f}"]
    ] + [
        [name, f"{r[name]['roc_auc']:.3f}", f"{r[name]['pr_auc']:.3f}"]
        for name in ("lightgbm", "logistic_regression", "recency_only")
        if name in r
    ]
    lead = (
        f"<p class='lead'>Purchase propensity ({html.escape(model.config.target)}, cutoff "
        f"{html.escape(str(getattr(model, 'cutoff_', None) or model.config.cutoff))}): the "
        f"chosen model ({html.escape(str(chosen['name']))}, picked on validation) has ROC-AUC "
        f"{chosen['roc_auc']:.3f} on the held-out period.</p>"
    )
    figure = chart(
        charts.reliability_chart(
            [b["predicted"] for b in r["reliability"]], [b["observed"] for b in r["reliability"]]
        ),
        "calibration",
    )
    return lead + table(["model", "ROC-AUC", "PR-AUC"], rows) + figure
