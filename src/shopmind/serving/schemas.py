"""Request and response bodies of the recommendation API (the OpenAPI schema comes from here)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ScoredItem(BaseModel):
    item_id: str
    score: float
    reason: str | None = None


class Recommendations(BaseModel):
    model: str
    fallback: str | None = Field(
        default=None, description="why the generic list was used (e.g. unknown user)"
    )
    items: list[ScoredItem]


class UserRecommendations(Recommendations):
    user_id: str


class SimilarItems(Recommendations):
    item_id: str


class SessionRequest(BaseModel):
    items: list[str] = Field(min_length=1, description="item ids seen so far, oldest first")
    k: int = Field(default=10, ge=1, le=1000)


class SessionRecommendations(Recommendations):
    ignored_items: list[str] = Field(default_factory=list, description="unknown item ids")


class Health(BaseModel):
    status: str
    model: str
    items: int
    users: int
