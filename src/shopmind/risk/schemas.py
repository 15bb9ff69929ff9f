"""Request and response bodies of the risk API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 200


class BasketLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str | None = Field(default=None, max_length=MAX_ID)
    quantity: float | None = Field(default=None, ge=0, le=1e6)
    price: float | None = Field(default=None, ge=0, le=1e9)


class OrderRequest(BaseModel):
    """One order at decision time. ``links`` holds the pseudonyms the workspace stores
    (device, ip, payment, address: the same hashing as ingest)."""

    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=MAX_ID)
    user_id: str = Field(min_length=1, max_length=MAX_ID)
    amount: float = Field(ge=0, le=1e9)
    ts: datetime | None = Field(default=None, description="order time (default: now, UTC)")
    links: dict[Literal["device", "ip", "payment", "address"], str] = Field(default_factory=dict)
    items: list[BasketLine] = Field(default_factory=list, max_length=1000)
    observe: bool = Field(default=True, description="record the order for later velocities")
    explain: bool = Field(
        default=False, description="also answer the decision-time features the score used"
    )


class RiskDecision(BaseModel):
    order_id: str
    risk_score: float = Field(ge=0, le=100)
    decision: Literal["allow", "review", "block"]
    reasons: list[str]
    mode: str
    features: dict[str, float | None] | None = Field(
        default=None, description="the decision-time features (only with explain: true)"
    )


class RiskEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=MAX_ID)
    event_type: Literal["cart", "refund"]
    ts: datetime | None = None


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(min_length=1, max_length=MAX_ID)
    note: str | None = Field(default=None, max_length=2000)
