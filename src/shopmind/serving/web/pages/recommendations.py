"""Recommendations (``/recommendations``, admins, analysts, marketers): the served model's
status and offline metrics, one user's recommendations and one item's similar items (titles,
categories, pictures, reasons), and the business rules (items excluded as non-products).

The lists come from the model the service serves (``GET /v1/users/{id}/recommendations``,
``GET /v1/items/{id}/similar``) through :mod:`shopmind.models.recommend.browse`, the same
ranking, exclusions and reasons as ``shopmind recommend batch|similar``; metrics are the
saved ``shopmind recommend evaluate`` results; rules are ``shopmind items list``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from starlette.responses import Response

from shopmind.errors import ShopmindError
from shopmind.features.eligibility import eligibility_table, excluded_items
from shopmind.models.recommend.browse import (
    explainer_for,
    model_status,
    similar_items,
    user_recommendations,
)
from shopmind.models.recommend.rules import ItemCatalog
from shopmind.serving.web import charts, forms
from shopmind.serving.web.framework import Ctx, NavItem, page, render

router = APIRouter()
NAV = [NavItem("/recommendations", "nav.recommendations", "recommend.read", order=50)]


@router.get("/recommendations")
def recommendations(ctx: Annotated[Ctx, page("recommend.read", personal=True)]) -> Response:
    errors: list[str] = []
    user = forms.text(ctx, "user")
    item = forms.text(ctx, "item")
    k = forms.integer(ctx, "k", 10, 1, 100, errors)
    con = ctx.cursor()
    status = ctx.memo(("recommend status",), lambda: model_status(ctx.service.workspace))
    rec = ctx.service.recommending
    rules = eligibility_table(con)
    blocked = set(excluded_items(con))
    for_user: list[dict[str, Any]] | None = None
    like: dict[str, Any] | None = None
    if rec is not None and not errors:
        model = rec.model
        catalog = rec.catalog or ItemCatalog.load(con, model.data_.item_ids)
        try:
            if user:
                key = rec.key_of(ctx.service.request_user_id(user))
                if key is None:  # never trained on, or erased since the model was loaded
                    raise ShopmindError(
                        f"The model does not know user '{user[:80]}'.",
                        hint="Use a user id as stored (see the Customers page) of a user with "
                        "interactions before the last `shopmind recommend train`.",
                    )
                explainer = explainer_for(model, catalog)
                for_user = user_recommendations(model, catalog, con, key, k, blocked, explainer)
            if item:
                like = similar_items(model, con, item, k, blocked)
        except ShopmindError as exc:
            errors.append(str(exc))
    evaluation = status["evaluations"][0] if status["evaluations"] else None
    chart_list = []
    if evaluation:
        names = [n for n in evaluation["metrics"] if "@" in n][:12]
        chart_list.append(
            charts.bar(
                "metrics",
                ctx.t("recs.chart_metrics", model=evaluation["model"], split=evaluation["split"]),
                names,
                {evaluation["model"] or "": [evaluation["metrics"][n] for n in names]},
                [{"metric": n, "value": evaluation["metrics"][n]} for n in names],
            )
        )
    return render(
        ctx,
        "recommendations.html",
        errors=errors,
        charts=chart_list,
        model_info=status,
        served=None
        if rec is None
        else {
            "name": rec.model.name,
            "n_items": rec.model.n_items_,
            "n_users": len(rec.model.key_index_),
            "categories": len(rec.categories),
        },
        evaluation=evaluation,
        user_q=user,
        item_q=item,
        k=k,
        for_user=for_user,
        like=like,
        rules=rules,
        excluded_categories=_excluded_categories(con, blocked),
    )


def _excluded_categories(con: Any, blocked: set[str]) -> list[tuple[str, int]]:
    """Categories of the excluded items, with their number of excluded items."""
    if not blocked:
        return []
    rows = con.execute(
        "SELECT coalesce(category, '–'), count(*) FROM items "
        "WHERE item_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL ORDER BY 2 DESC",
        [sorted(blocked)],
    ).fetchall()
    return [(str(c), int(n)) for c, n in rows]
