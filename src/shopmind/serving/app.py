"""The recommendation API: users, similar items, anonymous sessions, health, OpenAPI.

Bad input answers 4xx with a ``detail`` saying what to fix (never a 500): ``k`` outside
1..1000 and empty sessions are 422, unknown items 404 (similar) or 422 (a session with no
known item). An unknown user gets the popular list with ``fallback`` saying so.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import FastAPI, HTTPException, Query

from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.rules import BusinessRules, ItemCatalog
from shopmind.serving.schemas import (
    Health,
    ScoredItem,
    SessionRecommendations,
    SessionRequest,
    SimilarItems,
    UserRecommendations,
)

K = Annotated[int, Query(ge=1, le=1000, description="number of items")]


#: Lists kept per user when answers are precomputed at start-up (deeper asks are computed).
CACHED_K = 100


def precompute(model: Recommender, max_users: int) -> dict[str, list[tuple[str, float]]]:
    """Every known user's unfiltered top-``CACHED_K`` list, scored in batches at start-up
    (the model is a fixed snapshot, so the answers are too); skipped above ``max_users``."""
    users = list(model.key_index_)
    if len(users) > max_users:
        return {}
    cache: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(users), 2048):
        part = users[start : start + 2048]
        cache.update(zip(part, model.recommend(part, CACHED_K), strict=True))
    return cache


def create_app(
    model: Recommender, catalog: ItemCatalog | None = None, precompute_users: int = 500_000
) -> FastAPI:
    app = FastAPI(title="shopmind recommendations", version="1")
    cache = precompute(model, precompute_users)
    order = np.argsort(-model.popularity_, kind="stable")
    popular = [(str(model.data_.item_ids[i]), float(model.popularity_[i])) for i in order[:1000]]
    reason = model.reason()
    categories = {str(c) for c in catalog.category if c is not None} if catalog else set()

    def items(pairs: list[tuple[str, float]], why: str) -> list[ScoredItem]:
        return [ScoredItem(item_id=i, score=s, reason=why) for i, s in pairs]

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(
            status="ok", model=model.name, items=model.n_items_, users=len(model.key_index_)
        )

    @app.get("/v1/users/{user_id}/recommendations", response_model=UserRecommendations)
    async def user_recommendations(
        user_id: str, k: K = 10, category: str | None = None, exclude_purchased: bool = False
    ) -> UserRecommendations:
        rules = BusinessRules(
            categories=[category] if category else [], exclude_purchased=exclude_purchased
        )
        if category and (catalog is None or category not in categories):
            raise HTTPException(
                422,
                f"No item has category '{category}'; known categories "
                f"are {sorted(categories)[:20]} (ingest an items table "
                "with categories and restart the server).",
            )
        if user_id not in model.key_index_:
            allowed = popular
            if category:
                assert catalog is not None
                idx = model.item_index_
                allowed = [p for p in popular if catalog.category[idx[p[0]]] == category]
            return UserRecommendations(
                user_id=user_id,
                model=model.name,
                fallback="unknown user: popular items",
                items=items(allowed[:k], "popular"),
            )
        if not category and not exclude_purchased and k <= CACHED_K and user_id in cache:
            rec = cache[user_id][:k]
        else:
            rec = model.recommend([user_id], k, rules=rules, catalog=catalog)[0]
        return UserRecommendations(user_id=user_id, model=model.name, items=items(rec, reason))

    @app.get("/v1/items/{item_id}/similar", response_model=SimilarItems)
    async def similar(item_id: str, k: K = 10) -> SimilarItems:
        if item_id not in model.item_index_:
            raise HTTPException(404, f"Unknown item id '{item_id}'.")
        rec = model.similar_items([item_id], k)[0]
        return SimilarItems(item_id=item_id, model=model.name, items=items(rec, "similar"))

    @app.post("/v1/sessions/recommendations", response_model=SessionRecommendations)
    async def session(body: SessionRequest) -> SessionRecommendations:
        known = [i for i in body.items if i in model.item_index_]
        ignored = [i for i in body.items if i not in model.item_index_]
        if not known:
            raise HTTPException(
                422,
                "None of the session's item ids is known to the model; "
                "send ids of catalogue items.",
            )
        rec = model.recommend_next([known], body.k)[0]
        return SessionRecommendations(
            model=model.name, items=items(rec, reason), ignored_items=ignored
        )

    return app
