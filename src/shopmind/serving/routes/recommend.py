"""Recommendations: per user, similar items, and anonymous sessions (from the events the
service received for the session so far plus any items sent along)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from shopmind.models.recommend.rules import BusinessRules
from shopmind.serving.auth import ServiceDep, require
from shopmind.serving.errors import ERROR_RESPONSES, ApiError
from shopmind.serving.schemas import (
    MAX_ECHO,
    MAX_ID,
    ScoredItem,
    SessionRecommendations,
    SessionRequest,
    SimilarItems,
    UserRecommendations,
)
from shopmind.serving.service import CACHED_K, Recommending, Service

router = APIRouter(
    tags=["recommendations"], dependencies=[require("recommend.read")], responses=ERROR_RESPONSES
)

K = Annotated[int, Query(ge=1, le=1000, description="number of items")]
IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID)]


def _items(pairs: list[tuple[str, float]], why: str) -> list[ScoredItem]:
    return [ScoredItem(item_id=i, score=s, reason=why) for i, s in pairs]


def _model(service: Service) -> Recommending:
    if service.recommending is None:
        raise ApiError(
            503,
            "No recommender is trained in this workspace.",
            code="no_model",
            headers={"Retry-After": "60"},
        )
    return service.recommending


@router.get("/users/{user_id}/recommendations", response_model=UserRecommendations)
async def user_recommendations(
    service: ServiceDep,
    user_id: IdPath,
    k: K = 10,
    category: Annotated[str | None, Query(max_length=MAX_ID)] = None,
    exclude_purchased: bool = False,
    fallback: Annotated[
        bool, Query(description="unknown users get popular items (false: 404 instead)")
    ] = True,
) -> UserRecommendations:
    """Top-k items for a user; an unknown user gets the popular items and ``fallback`` says
    so (or 404 with ``fallback=false``). With pseudonymised workspaces the raw customer id
    or its pseudonym both work."""
    rec = _model(service)
    model, catalog = rec.model, rec.catalog
    if category and (catalog is None or category not in rec.categories):
        known = sorted(rec.categories)[:20]
        raise ApiError(
            422,
            f"No item has the category asked for; known categories are {known} (ingest an items "
            "table with categories and restart the server).",
        )
    key = rec.key_of(service.request_user_id(user_id))
    if key is None:
        if not fallback:
            raise ApiError(404, f"Unknown user id '{user_id[:80]}'.", code="unknown_user")
        allowed = rec.popular
        if category:
            assert catalog is not None
            idx = model.item_index_
            allowed = [p for p in rec.popular if catalog.category[idx[p[0]]] == category]
        return UserRecommendations(
            user_id=user_id,
            model=model.name,
            fallback="unknown user: popular items",
            items=_items(allowed[:k], "popular"),
        )
    if not category and not exclude_purchased and k <= CACHED_K and key in rec.cache:
        pairs = rec.cache[key][:k]
    else:
        rules = BusinessRules(
            categories=[category] if category else [], exclude_purchased=exclude_purchased
        )
        pairs = (await run_in_threadpool(model.recommend, [key], k, rules=rules, catalog=catalog))[
            0
        ]
    return UserRecommendations(
        user_id=user_id, model=model.name, items=_items(pairs, model.reason())
    )


@router.get("/items/{item_id}/similar", response_model=SimilarItems)
async def similar(service: ServiceDep, item_id: IdPath, k: K = 10) -> SimilarItems:
    """Items most like one item (404 for an item the model does not know)."""
    model = _model(service).model
    if item_id not in model.item_index_:
        raise ApiError(404, f"Unknown item id '{item_id[:80]}'.", code="unknown_item")
    pairs = (await run_in_threadpool(model.similar_items, [item_id], k))[0]
    return SimilarItems(item_id=item_id, model=model.name, items=_items(pairs, "similar"))


@router.post("/sessions/recommendations", response_model=SessionRecommendations)
def session(service: ServiceDep, body: SessionRequest) -> SessionRecommendations:
    """Next items for an anonymous session: its events received so far (stored or just
    posted to /v1/events), then ``items`` if given; ``exclude_seen`` leaves those items out
    of the answer. 404 for a session id without events
    when no items are sent; 422 when none of the items is known to the model."""
    model = _model(service).model
    history: list[str] = []
    if body.session_id is not None:
        history = service.sessions.items(body.session_id)
        if not history and not body.items:
            raise ApiError(
                404,
                f"No events for session '{body.session_id[:80]}' yet; post some to /v1/events "
                "or send the session's items.",
                code="unknown_session",
            )
    elif not body.items:
        raise ApiError(422, "Send a session_id, items, or both.")
    history += body.items or []
    known = [i for i in history if i in model.item_index_]
    ignored = [i for i in history if i not in model.item_index_]
    if not known:
        raise ApiError(
            422,
            f"None of the session's {len(history)} item ids is known to the model; send ids "
            "of catalogue items.",
            code="unknown_items",
        )
    pairs = model.recommend_next([known], body.k, exclude_seen=body.exclude_seen)[0]
    return SessionRecommendations(
        model=model.name,
        session_id=body.session_id,
        history=len(known),
        items=_items(pairs, model.reason()),
        ignored_items=ignored[:MAX_ECHO],
        ignored_count=len(ignored),
    )
