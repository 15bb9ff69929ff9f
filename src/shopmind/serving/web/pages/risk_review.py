"""Risk review (``/risk``, risk analysts and admins): the review queue with scores and
reasons, confirm / clear, fraud rings and rule backtests.

The same functions as ``GET /v1/risk/reviews`` and ``POST /v1/risk/reviews/{id}/confirm|clear``
(:func:`shopmind.risk.review.list_reviews` on the request's cursor, :func:`decide_on` inside
the service's writer with its audit entry), and as ``shopmind risk rings|backtest``
(:mod:`shopmind.risk.console`, on the service's connection).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from shopmind.errors import ShopmindError
from shopmind.risk.console import EXAMPLE_RULES, backtest_on, rings_on
from shopmind.risk.review import decide_on, find_review, list_reviews
from shopmind.serving.web import charts, forms
from shopmind.serving.web.framework import Ctx, NavItem, page, render
from shopmind.serving.writer import Busy
from shopmind.store.audit import AuditEntry

router = APIRouter()
NAV = [NavItem("/risk", "nav.risk", "risk", order=70)]
STATUSES = ("open", "confirmed", "cleared", "all")
VIEWS = ("queue", "rings", "backtest")
WRITE_TIMEOUT_S = 30
MAX_RULES_CHARS = 20_000


def _show(ctx: Ctx, view: str, errors: list[str], **values: Any) -> Response:
    views = [("queue", "/risk"), ("rings", "/risk/rings"), ("backtest", "/risk/backtest")]
    return render(ctx, f"risk_{view}.html", errors=errors, view=view, views=views, **values)


@router.get("/risk")
def queue(ctx: Annotated[Ctx, page("risk", personal=True)]) -> Response:
    errors: list[str] = []
    status = forms.choice(ctx, "status", STATUSES, "open", errors)
    limit = forms.integer(ctx, "limit", 50, 1, 1000, errors)
    rows = list_reviews(ctx.cursor(), None if status == "all" else status, limit)
    chart = None
    if rows:
        top = rows[:30]
        chart = charts.bar(
            "scores",
            ctx.t("risk.chart_scores"),
            [r["review_id"] for r in top],
            {ctx.t("risk.score"): [r["score"] for r in top]},
            [{k: r[k] for k in ("review_id", "entity_id", "score", "decision")} for r in top],
            y_title="0-100",
        )
    return _show(
        ctx,
        "queue",
        errors,
        charts=[chart] if chart else [],
        rows=rows,
        state=status,
        status_options=ctx.options(STATUSES, "risk.status."),
        limit=limit,
        customers=ctx.allowed("customers.read"),
    )


@router.post("/risk/decide")
def decide(ctx: Annotated[Ctx, page("risk")]) -> Response:
    """Confirm (fraud) or clear (good) one review, then back to the queue."""
    errors: list[str] = []
    review_id = forms.text(ctx, "review_id")
    action = forms.choice(ctx, "action", ("confirm", "clear"), "clear", errors)
    note = forms.text(ctx, "note") or None
    if not review_id:
        errors.append(ctx.t("risk.no_review"))
    if errors:
        return _queue_with(ctx, errors)
    confirm = action == "confirm"
    by = ctx.session.name or ctx.session.principal
    entry = AuditEntry(
        ctx.session.principal, ctx.role, f"risk review {action}", f"review={review_id[:100]}", "ok"
    )
    try:
        find_review(ctx.cursor(), review_id)  # an unknown id: a message, not a write
        result = ctx.service.writer.submit_call(
            lambda con: decide_on(con, review_id, confirm, by, note), entry
        ).result(timeout=WRITE_TIMEOUT_S)
    except (ShopmindError, Busy) as exc:
        return _queue_with(ctx, [str(exc)])
    scorer = getattr(ctx.request.app.state, "risk_scorer", None)
    if confirm and scorer is not None and result.get("user_id"):
        scorer.mark_bad(result["user_id"], datetime.now(UTC).timestamp())
    ctx.flash(ctx.t(f"risk.done_{action}", id=review_id))
    return RedirectResponse("/risk", 303)


def _queue_with(ctx: Ctx, errors: list[str]) -> Response:
    rows = list_reviews(ctx.cursor(), "open", 50)
    return _show(
        ctx,
        "queue",
        errors,
        rows=rows,
        state="open",
        status_options=ctx.options(STATUSES, "risk.status."),
        limit=50,
        customers=ctx.allowed("customers.read"),
    )


@router.get("/risk/rings")
def rings(ctx: Annotated[Ctx, page("risk", personal=True)]) -> Response:
    errors: list[str] = []
    min_size = forms.integer(ctx, "min_size", 3, 2, 1000, errors)
    result: dict[str, Any] | None = None
    try:
        result = ctx.memo(("risk rings", min_size), lambda: rings_on(ctx.cursor(), min_size))
    except ShopmindError as exc:
        errors.append(str(exc))
    return _show(ctx, "rings", errors, result=result, min_size=min_size)


@router.get("/risk/backtest")
def backtest_form(ctx: Annotated[Ctx, page("risk")]) -> Response:
    return _show(ctx, "backtest", [], rules=EXAMPLE_RULES, since="", result=None)


@router.post("/risk/backtest")
def backtest(ctx: Annotated[Ctx, page("risk")]) -> Response:
    """A rule set (YAML text) evaluated on the labelled history, as ``risk backtest``."""
    errors: list[str] = []
    rules = ctx.form.get("rules", "")[:MAX_RULES_CHARS]
    since = forms.day(ctx, "since", None, errors)
    result = None
    if not rules.strip():
        errors.append(ctx.t("risk.no_rules"))
    if not errors:
        try:
            with ctx.tables() as tables:
                result = backtest_on(
                    ctx.cursor(),
                    tables,
                    ctx.service.workspace,
                    rules,
                    since.isoformat() if since else None,
                )
        except ShopmindError as exc:
            errors.append(str(exc))
    return _show(
        ctx,
        "backtest",
        errors,
        rules=rules,
        since=since.isoformat() if since else "",
        result=result,
    )
