"""Campaigns (``/campaigns``, marketers and admins): plan a campaign under a budget with the
expected incremental profit and its 95% interval, build audiences (RFM segment or lifecycle,
propensity, or the plan's uplift), export them as CSV (audited; original ids and contact
fields only for ``audience.reveal``), and analyse a finished campaign (A/B).

One number, three faces: the plan is :func:`shopmind.marketing.campaign_view.plan_campaign`
(``shopmind campaign plan``), audiences are the ``audience_members`` of ``shopmind audience``
(stored through the service's writer; the reveal is the API's
:func:`~shopmind.marketing.audience.reveal_members` inside the writer, audited by the vault
reader), the analysis is ``shopmind abtest analyze --campaign``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from shopmind.errors import ShopmindError
from shopmind.marketing import campaign_view as cv
from shopmind.serving.web import charts, forms
from shopmind.serving.web.framework import Ctx, NavItem, page, render
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry

router = APIRouter()
NAV = [NavItem("/campaigns", "nav.campaigns", "audience.read", order=40)]
SOURCES = ("segment", "propensity", "plan")
WRITE_TIMEOUT_S = 60
#: The latest plan of each console session (its audience is what "export" and "build from
#: the plan" use), kept in memory like the sessions themselves.
_plans: OrderedDict[str, tuple[pd.DataFrame, dict[str, Any]]] = OrderedDict()
_plans_lock = threading.Lock()


def _latest_plan(ctx: Ctx) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    with _plans_lock:
        return _plans.get(ctx.session.csrf)


def _keep_plan(ctx: Ctx, audience: pd.DataFrame, summary: dict[str, Any]) -> None:
    with _plans_lock:
        _plans[ctx.session.csrf] = (audience, summary)
        while len(_plans) > 100:
            _plans.popitem(last=False)


def _page(ctx: Ctx, errors: list[str], **values: Any) -> Response:
    """The campaigns page with every section; ``values`` override the defaults."""
    from shopmind.marketing.audience import list_audiences

    con = ctx.cursor()
    plan = _latest_plan(ctx)
    context: dict[str, Any] = {
        "budget": "1000",
        "cost": "1",
        "value": "50",
        "campaign": "",
        "campaigns": cv.campaigns(con),
        "summary": plan[1] if plan else None,
        "plan_rows": _plan_rows(plan[0]) if plan else [],
        "segments": cv.segments(con),
        "audiences": list_audiences(con),
        "source": "segment",
        "source_options": ctx.options(SOURCES, "campaigns.source."),
        "analysis": None,
        "analysed": "",
        "pre_days": 30,
        "reveal": ctx.allowed("audience.reveal"),
        "charts": [],
    }
    context.update(values)
    return render(ctx, "campaigns.html", errors=errors, **context)


def _plan_rows(audience: pd.DataFrame) -> list[dict[str, Any]]:
    top = audience.head(20)
    return [
        {
            "user_id": u,
            "uplift": float(up),
            "expected_profit": float(p),
            "segment": None if pd.isna(s) else s,
        }
        for u, up, p, s in zip(
            top["user_id"], top["uplift"], top["expected_profit"], top["segment"], strict=True
        )
    ]


@router.get("/campaigns")
def campaigns(ctx: Annotated[Ctx, page("audience.read")]) -> Response:
    return _page(ctx, [])


@router.post("/campaigns/plan")
def plan(ctx: Annotated[Ctx, page("audience.read")]) -> Response:
    """Plan under the budget (as ``shopmind campaign plan --json``, seed 0)."""
    errors: list[str] = []
    raw = {k: forms.text(ctx, k) for k in ("budget", "cost", "value")}
    numbers = {}
    for name, text in raw.items():
        try:
            numbers[name] = float(text)
        except ValueError:
            errors.append(ctx.t("campaigns.not_a_number", field=ctx.t(f"campaigns.{name}")))
    campaign = forms.text(ctx, "campaign") or None
    values: dict[str, Any] = {**raw, "campaign": campaign or ""}
    if errors:
        return _page(ctx, errors, **values)
    try:
        budget = cv.check_budget(numbers["budget"], numbers["cost"], numbers["value"])
        with ctx.tables() as tables:
            audience, summary = cv.plan_campaign(tables, budget, campaign, 0)
    except ShopmindError as exc:
        return _page(ctx, [str(exc)], **values)
    _keep_plan(ctx, audience, summary)
    ctx.audit("console campaign plan", f"budget={budget.budget:g} audience={len(audience)}")
    mix = summary["segment_mix"]
    chart = charts.bar(
        "segment_mix",
        ctx.t("campaigns.chart_mix"),
        list(mix),
        {ctx.t("campaigns.users"): list(mix.values())},
        [{"segment": k, "users": v} for k, v in mix.items()],
    )
    return _page(ctx, [], **values, charts=[chart])


@router.get("/campaigns/plan.csv")
def plan_csv(ctx: Annotated[Ctx, page("audience.read")]) -> Response:
    """The session's latest plan audience as CSV (pseudonyms; audited)."""
    plan = _latest_plan(ctx)
    if plan is None:
        return _page(ctx, [ctx.t("campaigns.no_plan")])
    try:
        text, rows = cv.audience_csv(plan[0])
    except ShopmindError as exc:
        return _page(ctx, [str(exc)])
    ctx.audit("console campaign plan export", f"rows={rows}")
    return _csv(text, "campaign_plan.csv")


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/campaigns/audience")
def build(ctx: Annotated[Ctx, page("audience.read")]) -> Response:
    """Store an audience from a segment, the propensity scores or the latest plan."""
    errors: list[str] = []
    name = forms.text(ctx, "name")
    source = forms.choice(ctx, "source", SOURCES, "segment", errors)
    segment = forms.text(ctx, "segment")
    top = forms.integer(ctx, "top", 0, 0, 10_000_000, errors) or None
    raw_min = forms.text(ctx, "min_score")
    min_score = forms.number(ctx, "min_score", 0.0, float("-inf"), errors) if raw_min else None
    values = {"source": source}
    if errors:
        return _page(ctx, errors, **values)
    try:
        frame, origin = _source_frame(ctx, source, segment)
    except ShopmindError as exc:
        return _page(ctx, [str(exc)], **values)
    entry = AuditEntry(
        ctx.session.principal, ctx.role, "console audience build", f"audience={name[:64]}", "ok"
    )
    try:
        result = ctx.service.writer.submit_call(
            lambda con: cv.store_audience(con, name, frame, origin, min_score, top), entry
        ).result(timeout=WRITE_TIMEOUT_S)
    except (ShopmindError, Busy) as exc:
        return _page(ctx, [str(exc)], **values)
    ctx.flash(ctx.t("campaigns.built", name=result["audience"], n=result["members"]))
    return RedirectResponse("/campaigns#audiences", 303)


def _source_frame(ctx: Ctx, source: str, segment: str) -> tuple[pd.DataFrame, str]:
    if source == "segment":
        if not segment:
            raise ShopmindError(
                ctx.t("campaigns.no_segment"), hint=ctx.t("campaigns.no_segment_hint")
            )
        return cv.segment_members(ctx.cursor(), segment), f"segment:{segment}"
    if source == "propensity":
        with ctx.tables() as tables:
            return cv.propensity_scores(ctx.service.workspace, tables), "propensity"
    plan = _latest_plan(ctx)
    if plan is None:
        raise ShopmindError(ctx.t("campaigns.no_plan"), hint=ctx.t("campaigns.no_plan_hint"))
    frame = plan[0][["user_id", "expected_profit"]].rename(columns={"expected_profit": "score"})
    return frame, f"plan:budget={plan[1]['budget']:g}"


@router.get("/campaigns/export")
def export(ctx: Annotated[Ctx, page("audience.read")]) -> Response:
    """An audience as CSV of pseudonyms (``shopmind audience export``), audited."""
    from shopmind.marketing.audience import members

    name = forms.text(ctx, "audience")
    try:
        rows = members(ctx.cursor(), name)
    except ShopmindError as exc:
        return _page(ctx, [str(exc)])
    ctx.audit("console audience export", f"audience={name[:64]} members={len(rows)}")
    return _csv(cv.members_csv(rows, reveal=False), f"audience_{name}.csv")


@router.post("/campaigns/export")
def export_revealed(ctx: Annotated[Ctx, page("audience.reveal")]) -> Response:
    """Members with original id, e-mail and phone from the vault, as the API's reveal: on
    the service's writer, audited by the vault reader (count) and here (who, audience)."""
    from shopmind.marketing.audience import reveal_members

    name = forms.text(ctx, "audience")
    service = ctx.service
    keys = service.vault_keys()

    def work(con: Any) -> list[dict[str, Any]]:
        return reveal_members(
            con,
            name,
            keys,
            principal=ctx.session.principal,
            role=ctx.role,
            chain=service.writer.chain,
        )

    entry = AuditEntry(
        ctx.session.principal, ctx.role, "console audience reveal", f"audience={name[:64]}", "ok"
    )
    try:
        rows = service.writer.submit_call(work, entry).result(timeout=WRITE_TIMEOUT_S)
    except (ShopmindError, Busy) as exc:
        return _page(ctx, [str(exc)])
    return _csv(cv.members_csv(rows, reveal=True), f"audience_{name}_revealed.csv")


@router.get("/campaigns/analysis")
def analysis(ctx: Annotated[Ctx, page("audience.read")]) -> Response:
    """A finished campaign's A/B analysis (``shopmind abtest analyze --campaign --json``)."""
    errors: list[str] = []
    campaign = forms.text(ctx, "campaign")
    pre_days = forms.integer(ctx, "pre_days", 30, 1, 3650, errors)
    result = None
    chart_list = []
    if not campaign:
        errors.append(ctx.t("campaigns.no_campaign"))
    if not errors:
        try:
            result = ctx.memo(
                ("abtest", campaign, pre_days),
                lambda: cv.analyze_campaign(ctx.cursor(), campaign, pre_days=pre_days),
            )
        except ShopmindError as exc:
            errors.append(str(exc))
    if result:
        rows = [
            {
                "arm": arm,
                "difference": e["conversion"]["difference"],
                "ci_low": e["conversion"]["ci_low"],
                "ci_high": e["conversion"]["ci_high"],
            }
            for arm, e in result["variants"].items()
        ]
        chart = charts.Chart(
            "conversion_lift",
            ctx.t("campaigns.chart_lift"),
            {
                "data": [
                    {
                        "type": "bar",
                        "x": [r["arm"] for r in rows],
                        "y": [r["difference"] for r in rows],
                        "error_y": {
                            "type": "data",
                            "symmetric": False,
                            "array": [r["ci_high"] - r["difference"] for r in rows],
                            "arrayminus": [r["difference"] - r["ci_low"] for r in rows],
                        },
                    }
                ],
                "layout": {"yaxis": {"title": {"text": ctx.t("campaigns.lift_axis")}}},
            },
            rows,
        )
        chart_list = [chart]
    return _page(
        ctx,
        errors,
        analysis=result,
        analysed=campaign,
        pre_days=pre_days,
        charts=chart_list,
    )
