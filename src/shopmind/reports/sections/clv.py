"""12-month customer lifetime value from the model saved by ``shopmind clv fit``."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shopmind.reports import charts
from shopmind.reports.fragments import chart, money, note
from shopmind.store import Workspace

if TYPE_CHECKING:
    from shopmind.models.clv import CLVModel

TITLE = "Customer lifetime value"
ANCHOR = "clv"
NOTE = "No CLV model yet: run <code>shopmind clv fit</code>."


def _parameters(fitted: object) -> str:
    """Fitted parameters as ``name = value`` pairs (4 significant digits)."""
    if isinstance(fitted, dict):
        return ", ".join(
            f"{k} = {v:.4g}" if isinstance(v, int | float) else f"{k} = {v}"
            for k, v in fitted.items()
        )
    return str(fitted)


def build(workspace: Workspace) -> str | None:
    from shopmind.analytics.metrics import workspace_currency
    from shopmind.analytics.store import clv_model_dir
    from shopmind.models.clv import CLVModel

    if not (clv_model_dir(workspace) / "clv.json").exists():
        from shopmind.analytics.applicability import why_not

        reason = why_not(workspace, "clv")  # the Taobao head: no prices
        return None if reason is None else note(f"CLV does not apply: {html.escape(reason)}.")
    model = CLVModel.load(clv_model_dir(workspace))
    frame = model.predict(12)
    if "clv" not in frame:
        return "<p>The CLV model has no spend model (too few repeat buyers).</p>"
    values = np.sort(frame["clv"].to_numpy())[::-1]
    top = values[: max(1, len(values) // 10)].sum() / max(values.sum(), 1e-9)
    total = money(float(values.sum()), workspace_currency(workspace))
    lead = (
        f"<p class='lead'>Expected value of the next 12 months: {html.escape(total)} over "
        f"{len(values):,} customers; the top 10% hold {100 * top:.0f}% of it.</p>"
    )
    detail = "".join(
        f"<li>{html.escape(name)}: {html.escape(_parameters(fitted))}</li>"
        for name, fitted in model.params_.items()
    )
    return (
        lead
        + _assumptions(model, frame)
        + chart(charts.histogram(values.tolist(), "12-month CLV"), "clv")
        + f"<ul>{detail}</ul>"
    )


def _assumptions(model: CLVModel, frame: pd.DataFrame) -> str:
    """What the figure is and is not: revenue, undiscounted, point or interval, checked on a
    holdout or not, and how many one-time buyers the model keeps alive for certain."""
    kind = "BG/NBD" if model.config.transaction_model == "bgnbd" else "Pareto/NBD"
    estimate = (
        "posterior means (94% intervals in <code>clv predict</code>)"
        if model.config.method == "mcmc"
        else "point estimates (no interval; fit with <code>--posterior</code> for one)"
    )
    holdout = model.holdout_
    if holdout:
        error = float(holdout["aggregate_relative_error"])
        checked = (
            f"Checked on a {float(holdout['holdout_periods']):g}-period holdout: repeat "
            f"purchases {float(holdout['predicted_repeat_purchases']):,.0f} predicted against "
            f"{float(holdout['actual_repeat_purchases']):,.0f} actual ({100 * error:+.1f}%)."
        )
    else:
        checked = (
            "Not checked on a holdout: <code>clv fit --calibration-end D --holdout-end D"
            "</code> measures the error."
        )
    # BG/NBD: a customer without a repeat purchase is alive for certain (P(alive) = 1)
    certain = int((frame["probability_alive"] >= 0.9999).sum())
    alive = (
        f" {certain:,} of {len(frame):,} customers have P(alive) = 1: in {kind}, a customer "
        "without a repeat purchase cannot have dropped out yet, however long ago they bought."
        if certain and kind == "BG/NBD"
        else ""
    )
    return (
        f"<p class='note'>Assumptions: revenue, not margin; not discounted; {kind} for repeat "
        f"purchases and Gamma-Gamma for spend per purchase, {estimate}. {checked}{alive}</p>"
    )
