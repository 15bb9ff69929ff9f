"""12-month customer lifetime value from the model saved by ``shopmind clv fit``."""

from __future__ import annotations

import html

import numpy as np

from shopmind.reports import charts
from shopmind.reports.fragments import chart, money
from shopmind.store import Workspace

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
        return None
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
        + chart(charts.histogram(values.tolist(), "12-month CLV"), "clv")
        + f"<ul>{detail}</ul>"
    )
