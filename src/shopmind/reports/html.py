"""``shopmind report``: one self-contained HTML page a marketing manager can read.

Sections are computed from the workspace; a section whose data is missing says so instead
of failing (a log without purchases has no RFM). Charts are inline SVG.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.analytics.backend import Tables, duckdb_tables
from shopmind.reports import charts
from shopmind.store import Workspace

SEGMENT_ACTIONS = {
    "Champions": "reward them; early access, referrals",
    "Loyal": "upsell higher-value products, ask for reviews",
    "Potential loyalists": "membership or loyalty offers",
    "New": "onboarding, a good first experience",
    "Promising": "brand awareness, free trials",
    "Need attention": "limited-time offers based on past purchases",
    "About to sleep": "reconnect with popular products, discounts",
    "Can't lose": "win them back with renewals, talk to them",
    "At risk": "personal e-mails, special offers",
    "Hibernating": "relevant products and special discounts",
    "Lost": "revive interest with a campaign or ignore",
}


def _section(title: str, body: str, chart_id: str | None = None) -> str:
    anchor = f' id="{chart_id}"' if chart_id else ""
    return f"<section{anchor}><h2>{html.escape(title)}</h2>{body}</section>"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(svg: str, name: str) -> str:
    return f'<figure class="chart" data-chart="{name}">{svg}</figure>'


def _overview(tables: Tables) -> tuple[str, dict[str, Any]]:
    e = tables.events()
    stats = (
        e.aggregate(
            events=e.count(),
            users=e.user_id.nunique(),
            first=e.ts.min(),
            last=e.ts.max(),
            purchases=(e.event_type == "purchase").sum(),
        )
        .execute()
        .iloc[0]
    )
    types = e.group_by("event_type").aggregate(n=e.count()).execute()
    revenue = tables["orders"].filter(tables["orders"].status != "refund").amount.sum().execute()
    facts = {
        "events": int(stats["events"]),
        "users": int(stats["users"]),
        "first": str(stats["first"])[:10],
        "last": str(stats["last"])[:10],
        "purchases": int(stats["purchases"]),
        "revenue": float(revenue) if revenue == revenue and revenue is not None else 0.0,
    }
    text = (
        f"<p class='lead'>{facts['users']:,} known users generated {facts['events']:,} "
        f"events between {facts['first']} and {facts['last']}, including "
        f"{facts['purchases']:,} purchases for a revenue of {facts['revenue']:,.2f}.</p>"
    )
    text += _table(
        ["event type", "events"],
        [[r.event_type, f"{int(r.n):,}"] for r in types.sort_values("n").itertuples()][::-1],
    )
    return text, facts


def _funnel(tables: Tables, facts: dict[str, Any]) -> str:
    from shopmind.analytics.funnel import FunnelQuery, funnel

    present = tables.event_types()
    steps = tuple(s for s in ("view", "cart", "purchase") if s in present)
    if len(steps) < 2:
        return "<p>Not enough event types for a funnel (needs two of view, cart, purchase).</p>"
    result = funnel(tables, FunnelQuery(steps, 86_400))
    rows = result["steps"]
    first, last = rows[0], rows[-1]
    sentence = (
        f"<p class='lead'>Of {first['users']:,} users who did <b>{steps[0]}</b>, "
        f"{100 * (last['conversion_from_first'] or 0):.1f}% reached <b>{steps[-1]}</b> "
        f"within a day of it.</p>"
    )
    facts["funnel_conversion"] = last["conversion_from_first"]
    chart = _chart(
        charts.funnel_chart([r["name"] for r in rows], [r["users"] for r in rows]), "funnel"
    )
    table = _table(
        ["step", "users", "from previous", "median time from previous"],
        [
            [
                r["name"],
                f"{r['users']:,}",
                f"{100 * (r['conversion_from_previous'] or 0):.1f}%",
                _duration(r["median_seconds_from_previous"]),
            ]
            for r in rows
        ],
    )
    return sentence + chart + table


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _retention(tables: Tables) -> str:
    from shopmind.analytics.retention import retention

    e = tables.events()
    span_days = (e.ts.max().epoch_seconds() - e.ts.min().epoch_seconds()).execute() / 86_400
    period = "month" if span_days > 180 else "week" if span_days > 21 else "day"
    start = "purchase" if "purchase" in tables.event_types() else "view"
    result = retention(tables, start, start, period, periods=8)  # type: ignore[arg-type]
    cohorts = result["cohorts"][-12:]
    if not cohorts:
        return "<p>No cohorts.</p>"
    values = np.array([c["rates"][1:] for c in cohorts], dtype=float)
    mean_first = float(np.nanmean(values[:, 0])) if values.size else 0.0
    sentence = (
        f"<p class='lead'>On average {100 * mean_first:.1f}% of users who did "
        f"<b>{start}</b> did it again in the next {period}.</p>"
    )
    chart = _chart(
        charts.heatmap(
            [c["cohort"] for c in cohorts], values, f"{period}s after the first {start}"
        ),
        "retention",
    )
    return sentence + chart


def _trends(tables: Tables) -> str:
    from shopmind.analytics.trends import trends

    result = trends(tables, "revenue", "week")
    points = result["points"]
    if not any(p["value"] for p in points):
        result = trends(tables, "active_users", "week")
        points = result["points"]
    label = result["metric"].replace("_", " ")
    values = [p["value"] or 0.0 for p in points]
    best = int(np.argmax(values)) if values else 0
    sentence = (
        (
            f"<p class='lead'>Weekly {label}: the best week started {points[best]['period'][:10]} "
            f"({values[best]:,.0f}).</p>"
        )
        if points
        else ""
    )
    return sentence + _chart(
        charts.line_chart([p["period"] for p in points], values, label), "trends"
    )


def _rfm(tables: Tables) -> str:
    from shopmind.analytics.rfm import rfm

    result = rfm(tables)
    segs = result["segments"]
    champions = next((s for s in segs if s["name"] == "Champions"), None)
    lead = ""
    if champions:
        lead = (
            f"<p class='lead'>{champions['customers']:,} Champions "
            f"({100 * champions['share']:.1f}% of {result['customers']:,} customers) buy often, "
            f"recently and spend most.</p>"
        )
    chart = _chart(
        charts.bar_chart([s["name"] for s in segs], [s["customers"] for s in segs], "customers"),
        "rfm",
    )
    table = _table(
        [
            "segment",
            "customers",
            "mean recency (days)",
            "mean orders",
            "mean spend",
            "suggested action",
        ],
        [
            [
                s["name"],
                f"{s['customers']:,}",
                s["mean_recency_days"],
                s["mean_frequency"],
                s["mean_monetary"],
                SEGMENT_ACTIONS.get(s["name"], ""),
            ]
            for s in segs
        ],
    )
    return lead + chart + table


def _clv(workspace: Workspace) -> str:
    from shopmind.analytics.store import clv_model_dir
    from shopmind.models.clv import CLVModel

    if not (clv_model_dir(workspace) / "clv.json").exists():
        return "<p>No CLV model yet: run <code>shopmind clv fit</code>.</p>"
    model = CLVModel.load(clv_model_dir(workspace))
    frame = model.predict(12)
    if "clv" not in frame:
        return "<p>The CLV model has no spend model (too few repeat buyers).</p>"
    values = np.sort(frame["clv"].to_numpy())[::-1]
    top = values[: max(1, len(values) // 10)].sum() / max(values.sum(), 1e-9)
    lead = (
        f"<p class='lead'>Expected value of the next 12 months: {values.sum():,.0f} over "
        f"{len(values):,} customers; the top 10% hold {100 * top:.0f}% of it.</p>"
    )
    params = model.params_
    detail = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in params.items())
    return (
        lead
        + _chart(charts.histogram(values.tolist(), "12-month CLV"), "clv")
        + f"<ul>{detail}</ul>"
    )


def _recommendations(workspace: Workspace) -> str:
    """Sample recommendations of the default recommender, with their reasons."""
    import json

    from shopmind.models.recommend.rules import ItemCatalog
    from shopmind.models.recommend.workflow import load_model, model_dir

    pointer = model_dir(workspace) / "default.json"
    if not pointer.exists():
        return "<p>No recommender yet: run <code>shopmind recommend train</code>.</p>"
    summary = json.loads(pointer.read_text())
    model = load_model(workspace, None)
    with workspace.connect(read_only=True) as con:
        catalog = ItemCatalog.load(con, model.data_.item_ids)
    lengths = model.data_.lengths()
    users = [str(model.data_.keys[i]) for i in np.argsort(-lengths, kind="stable")[:5]]

    def label(item: str) -> str:
        title = catalog.title[model.item_index_[item]]
        return f"{item} ({title})" if title else item

    rows = []
    for user, rec in zip(users, model.recommend(users, k=5), strict=True):
        recent = model.data_.seq(model.key_index_[user])[-3:]
        rows.append(
            [
                user,
                ", ".join(label(str(model.data_.item_ids[i])) for i in recent),
                "; ".join(label(item) for item, _ in rec),
                model.reason(),
            ]
        )
    validation = summary.get("validation", {}).get("validation_ndcg")
    lead = (
        f"<p class='lead'>Default model: <b>{html.escape(summary['model'])}</b>, chosen on a "
        f"{html.escape(summary['split'])} validation split"
        + (f" (NDCG@{summary['k']} {validation:.4f})" if validation is not None else "")
        + f"; trained on {summary['interactions']:,} interactions.</p>"
    )
    return lead + _table(["user", "recent items", "recommended", "why"], rows)


def _segments(tables: Tables) -> str:
    from shopmind.analytics.segments import segment_users

    result = segment_users(tables)
    segs = result["segments"]
    chart = _chart(
        charts.bar_chart(
            [f"segment {s['segment']}" for s in segs], [s["users"] for s in segs], "users"
        ),
        "segments",
    )
    lead = (
        f"<p class='lead'>{result['k']} behavioural segments (k chosen by the silhouette "
        f"score).</p>"
    )
    table = _table(
        ["segment", "users", "share", "what sets it apart"],
        [
            [s["segment"], f"{s['users']:,}", f"{100 * s['share']:.1f}%", s["description"]]
            for s in segs
        ],
    )
    return lead + chart + table


def _uplift_and_plan(tables: Tables) -> str:
    from shopmind.marketing.campaign import CampaignBudget, plan

    assignments = tables.backend.table("campaign_assignments")
    if int(assignments.count().execute()) == 0:
        return "<p>No randomised campaign in the workspace to learn uplift from.</p>"
    users = int(tables["events"].user_id.nunique().execute())
    _, summary = plan(tables, CampaignBudget(budget=max(users // 10, 1), cost=1.0, value=30.0))
    check = summary["held_out_check"]
    conv = summary["expected_incremental_conversions"]
    lead = (
        f"<p class='lead'>Learned from campaign <b>{html.escape(summary['campaign_learned_from'])}"
        f"</b>: on held-out customers the top {100 * check.get('share', 0):.0f}% by predicted "
        f"uplift converted {100 * check['uplift']:.1f} points more when e-mailed (Qini "
        f"coefficient {check['qini_coefficient']:.3f}). With a budget of "
        f"{summary['budget']:,.0f} at 1 per contact and 30 per conversion, contacting "
        f"{summary['audience']:,} users should bring about {conv['estimate']:,.0f} extra "
        f"conversions (95% {conv['low']:,.0f} .. {conv['high']:,.0f}).</p>"
    )
    chart = _chart(charts.qini_chart(check["qini_curve"]["x"], check["qini_curve"]["y"]), "qini")
    return lead + chart


def _propensity(workspace: Workspace) -> str:
    from shopmind.models.propensity import PropensityModel

    path = workspace.models_dir / "propensity" / "model.pkl"
    if not path.exists():
        return (
            "<p>No propensity model yet: run <code>shopmind propensity train --target "
            "purchase --horizon 7d --cutoff ...</code>.</p>"
        )
    model = PropensityModel.load(path)
    r = model.report_
    rows = [
        [name, f"{r[name]['roc_auc']:.3f}", f"{r[name]['pr_auc']:.3f}"]
        for name in ("lightgbm", "logistic_regression", "recency_only")
        if name in r
    ]
    lead = (
        f"<p class='lead'>Purchase propensity ({html.escape(model.config.target)}, cutoff "
        f"{html.escape(str(model.config.cutoff))}): ROC-AUC "
        f"{r['lightgbm']['roc_auc']:.3f} on the held-out period.</p>"
    )
    chart = _chart(
        charts.reliability_chart(
            [b["predicted"] for b in r["reliability"]], [b["observed"] for b in r["reliability"]]
        ),
        "calibration",
    )
    return lead + _table(["model", "ROC-AUC", "PR-AUC"], rows) + chart


def _items(tables: Tables) -> str:
    e = tables.events()
    items = tables["items"]
    bought = e.filter(e.event_type == "purchase")
    top = bought.group_by("item_id").aggregate(buys=bought.count())
    joined = top.left_join(items, top.item_id == items.item_id)
    frame = (
        joined.select("item_id", "buys", "title", "title_zh", "category")
        .order_by([top.buys.desc(), "item_id"])
        .limit(10)
        .execute()
    )
    if frame.empty:
        return "<p>No purchases yet.</p>"
    return _table(
        ["item", "purchases", "title", "标题 (title in Chinese)", "category"],
        [
            [r.item_id, f"{int(r.buys):,}", r.title, r.title_zh, r.category]
            for r in frame.itertuples()
        ],
    )


STYLE = """
body{font-family:"Segoe UI",Helvetica,Arial,"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;
max-width:1000px;margin:2em auto;color:#111;line-height:1.45}
h1{margin-bottom:0} section{margin:2em 0;border-top:1px solid #ddd;padding-top:1em}
.lead{font-size:1.1em} table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border-bottom:1px solid #eee;padding:.25em .6em;text-align:left} figure{margin:.5em 0}
.note{color:#777} svg{max-width:100%;height:auto}
"""


def build_report(workspace: Workspace) -> str:
    """The report as one HTML string."""
    sections = []
    with duckdb_tables(workspace) as tables:
        overview, facts = _overview(tables)
        sections.append(_section("Overview", overview))
        for title, builder, chart_id in (
            ("Conversion funnel", lambda: _funnel(tables, facts), "funnel"),
            ("Retention", lambda: _retention(tables), "retention"),
            ("Trends", lambda: _trends(tables), "trends"),
            ("Customer segments (RFM)", lambda: _rfm(tables), "rfm"),
            ("Customer lifetime value", lambda: _clv(workspace), "clv"),
            ("Behavioural segments", lambda: _segments(tables), "segments"),
            ("Purchase propensity", lambda: _propensity(workspace), "propensity"),
            ("Uplift and campaign plan", lambda: _uplift_and_plan(tables), "uplift"),
            ("Best-selling items", lambda: _items(tables), "items"),
            ("Recommendations", lambda: _recommendations(workspace), "recommendations"),
        ):
            try:
                body = builder()
            except Exception as exc:  # one missing analysis must not sink the report
                body = f"<p class='note'>Not available: {html.escape(str(exc))}</p>"
            sections.append(_section(title, body, chart_id))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>shopmind report</title><style>{STYLE}</style></head><body>"
        f"<h1>shopmind report</h1><p class='note'>{html.escape(str(workspace.root))} · "
        f"generated {generated}</p>{''.join(sections)}</body></html>"
    )


def write_report(workspace: Workspace, out: Path | None = None) -> Path:
    path = out or workspace.reports_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(workspace), encoding="utf-8")
    return path
