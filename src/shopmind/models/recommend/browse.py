"""Browsing a trained recommender: its status and offline metrics, one user's items and one
item's neighbours with titles, categories, pictures and reasons (the console's
Recommendations and Customers pages; the same calls as ``shopmind recommend batch|similar``).

Non-product items (``shopmind items list``) are never shown as recommendations, as in
``recommend batch``: the model is asked for ``k`` plus the number of excluded items and the
excluded ones are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from shopmind.errors import RecommendError
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.explain import Explainer
from shopmind.models.recommend.rules import ItemCatalog
from shopmind.models.recommend.workflow import default_pointer, default_summary
from shopmind.store import Workspace

#: Keys of ``items.attributes`` read as a picture's address, first present wins.
IMAGE_KEYS = ("image_url", "image", "img", "picture", "thumbnail")
#: Offline metrics shown first (when the evaluation has them).
HEADLINE = ("hr@10", "recall@10", "ndcg@10", "mrr@10", "coverage@10", "novelty@10")


def model_status(workspace: Workspace) -> dict[str, Any]:
    """The default model's training summary (``models/recommend/default.json``) and every
    saved evaluation (``reports/recommend_eval_<model>_<split>.json``, newest first)."""
    summary = default_summary(workspace)
    status: dict[str, Any] = {"trained": summary is not None, "model": None, "evaluations": []}
    if summary is not None:
        board = (summary.get("validation") or {}).get("leaderboard") or []
        status.update(
            {
                "model": summary.get("model"),
                "kind": summary.get("kind"),
                "keys": summary.get("keys"),
                "items": summary.get("items"),
                "interactions": summary.get("interactions"),
                "split": summary.get("split"),
                "k": summary.get("k"),
                "seconds": summary.get("seconds"),
                "trained_at": _mtime(default_pointer(workspace)),
                "leaderboard": board[:10],
            }
        )
    reports = sorted(
        workspace.reports_dir.glob("recommend_eval_*.json"),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in reports:
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        metrics = result.get("metrics") or {}
        ordered = {k: metrics[k] for k in HEADLINE if k in metrics}
        ordered.update({k: v for k, v in metrics.items() if k not in ordered})
        status["evaluations"].append(
            {
                "file": path.name,
                "model": result.get("model"),
                "split": result.get("split"),
                "cases": result.get("cases"),
                "protocol": result.get("protocol"),
                "evaluated_at": _mtime(path),
                "metrics": ordered,
            }
        )
    return status


def _mtime(path: Path) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def item_details(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> dict[str, dict]:
    """item_id -> title, category, brand, price and image (a URL from ``attributes``)."""
    if not item_ids:
        return {}
    picks = ", ".join(f"json_extract_string(attributes, '$.{k}')" for k in IMAGE_KEYS)
    rows = con.execute(
        f"SELECT item_id, coalesce(title, title_zh), category, brand, price, "
        f"coalesce({picks}) FROM items WHERE item_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(map(str, item_ids))],
    ).fetchall()
    found: dict[str, dict] = {}
    for item, title, category, brand, price, image in rows:
        safe = (
            image if isinstance(image, str) and image.startswith(("http://", "https://")) else None
        )
        found.setdefault(
            str(item),
            {"title": title, "category": category, "brand": brand, "price": price, "image": safe},
        )
    return found


def _rows(
    con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, float]], reasons: Sequence[str]
) -> list[dict[str, Any]]:
    details = item_details(con, [i for i, _ in pairs])
    empty = {"title": None, "category": None, "brand": None, "price": None, "image": None}
    return [
        {
            "rank": n,
            "item_id": item,
            "score": float(score),
            "reason": why,
            **details.get(item, empty),
        }
        for n, ((item, score), why) in enumerate(zip(pairs, reasons, strict=True), 1)
    ]


_explainers: list[tuple[Recommender, ItemCatalog, Explainer]] = []


def explainer_for(model: Recommender, catalog: ItemCatalog) -> Explainer:
    """The reasons of ``model`` (built once per model and catalogue: a users x items matrix)."""
    for known, cat, explainer in _explainers:
        if known is model and cat is catalog:
            return explainer
    explainer = Explainer.for_model(model, catalog)
    _explainers[:] = [*_explainers[-3:], (model, catalog, explainer)]
    return explainer


def user_recommendations(
    model: Recommender,
    catalog: ItemCatalog,
    con: duckdb.DuckDBPyConnection,
    user_id: str,
    k: int = 10,
    blocked: set[str] | None = None,
    explainer: Explainer | None = None,
) -> list[dict[str, Any]]:
    """Top-``k`` items for a known user (seen items excluded, non-products dropped), with
    title, category, picture and a reason (``explainer``: a prebuilt one for ``model``).
    Raises RecommendError for an unknown user."""
    if user_id not in model.key_index_:
        raise RecommendError(
            f"The model does not know user '{user_id[:80]}'.",
            hint="Use a pseudonymised user id as stored (see the Customers page) of a user "
            "with interactions before the last `shopmind recommend train`.",
        )
    blocked = blocked or set()
    wide = k + len(blocked & set(model.item_index_))
    pairs = [(i, s) for i, s in model.recommend([user_id], wide)[0] if i not in blocked][:k]
    explainer = explainer or explainer_for(model, catalog)
    reasons = explainer.reasons(user_id, [i for i, _ in pairs])
    return _rows(con, pairs, reasons)


def similar_items(
    model: Recommender,
    con: duckdb.DuckDBPyConnection,
    item_id: str,
    k: int = 10,
    blocked: set[str] | None = None,
) -> dict[str, Any]:
    """The item itself and its ``k`` most similar items (as ``shopmind recommend similar``)."""
    if item_id not in model.item_index_:
        raise RecommendError(
            f"The model does not know item '{item_id[:80]}'.",
            hint="Use an item id from the ingested data (see the business rules below).",
        )
    blocked = blocked or set()
    pairs = model.similar_items([item_id], k + len(blocked))[0]
    pairs = [(i, s) for i, s in pairs if i not in blocked][:k]
    item = item_details(con, [item_id]).get(item_id, {})
    return {"item_id": item_id, **item, "similar": _rows(con, pairs, ["similar"] * len(pairs))}


__all__ = ["explainer_for", "item_details", "model_status", "similar_items", "user_recommendations"]
