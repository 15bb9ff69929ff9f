"""Purchase propensity: held-out ROC-AUC / PR-AUC and calibration of the saved model."""

from __future__ import annotations

import html

from shopmind.reports import charts
from shopmind.reports.fragments import chart, note, table
from shopmind.store import Workspace

TITLE = "Purchase propensity"
ANCHOR = "propensity"
NOTE = (
    "No propensity model yet: run <code>shopmind propensity train --target "
    "purchase --horizon 7d</code> (the cutoff defaults to one horizon before the last event)."
)


def build(workspace: Workspace) -> str | None:
    from shopmind.models.propensity import PropensityModel

    path = workspace.models_dir / "propensity" / "model.pkl"
    if not path.exists():
        from shopmind.analytics.applicability import why_not

        # the NOTE's 7-day horizon may not fit the data (the Taobao head: 9 days)
        reason = why_not(workspace, "propensity", horizon_days=7)
        return None if reason is None else note(f"No model: {html.escape(reason)}.")
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
    ) + _meaning(model)
    figure = chart(
        charts.reliability_chart(
            [b["predicted"] for b in r["reliability"]], [b["observed"] for b in r["reliability"]]
        ),
        "calibration",
    )
    return lead + table(["model", "ROC-AUC", "PR-AUC"], rows) + figure


def _meaning(model: object) -> str:
    """What a score is: the target over its horizon, and the test period's base rate."""
    config = getattr(model, "config", None)
    report = getattr(model, "report_", {}) or {}
    if config is None or getattr(model, "label_", None) is not None:
        return ""  # a file model: its label is the file's column, no horizon
    days = config.horizon_seconds / 86_400
    span = f"{days:g} day{'s' if days != 1 else ''}"
    event = (
        f"the user buys within {span} after the cutoff (users with events before the cutoff)"
        if config.target == "purchase"
        else f"the customer does not buy again within {span} after the cutoff (customers "
        "with a purchase before the cutoff)"
    )
    rate = report.get("positive_rate_test")
    base = (
        f"; {100 * float(rate):.1f}% of them did in the held-out period, the rate to compare "
        "a score with"
        if rate is not None
        else ""
    )
    return f"<p class='note'>A score is the calibrated probability that {event}{base}.</p>"
