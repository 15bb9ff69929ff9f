"""One customer on one page (the console's Customers page): tags, CLV, propensity with
reasons, recommendations with titles and reasons, conversations and risk flags.

Every read of one customer goes through :func:`customer_view`, which records an audit entry
(who, role, ``customer view``, the pseudonym; never an original id) through the ``audit``
callable it is given (the service's writer inside ``shopmind serve``). The numbers come from
the same library calls as the CLI: ``shopmind profile`` (user_profiles), ``shopmind clv
predict`` (12-month CLV, :meth:`CLVModel.predict`), ``shopmind propensity explain``
(:meth:`PropensityModel.predict` / ``reasons`` at the training cutoff) and ``shopmind
recommend batch`` (:mod:`shopmind.models.recommend.browse`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from shopmind.errors import NotFittedError, ShopmindError
from shopmind.store import Workspace
from shopmind.store.audit import AuditEntry

Audit = Callable[[AuditEntry], None]

#: Months of the CLV shown (as ``shopmind clv predict --horizon 12M``).
CLV_MONTHS = 12.0
_cache: dict[tuple[str, float], Any] = {}
_cache_lock = threading.Lock()


def _cached(path: Path, build: Callable[[], Any]) -> Any:
    """``build()`` once per model file version (its modification time)."""
    key = (str(path), path.stat().st_mtime)
    with _cache_lock:
        if key not in _cache:
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            _cache[key] = build()
        return _cache[key]


def find_customers(
    con: duckdb.DuckDBPyConnection, query: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Customers whose stored id (pseudonym) starts with ``query``, with their profile's
    lifecycle and RFM segment when computed. Pseudonyms only: original ids need the vault."""
    text = query.strip()
    if not text:
        raise ShopmindError(
            "Type the start of a customer id.", hint="Ids are stored pseudonymised, e.g. 'u_3f'."
        )
    rows = con.execute(
        """
        WITH ids AS (
            SELECT user_id FROM users WHERE starts_with(user_id, ?)
            UNION SELECT user_id FROM user_profiles WHERE starts_with(user_id, ?)
            UNION SELECT DISTINCT user_id FROM events
                  WHERE user_id IS NOT NULL AND starts_with(user_id, ?))
        SELECT i.user_id, p.lifecycle, p.rfm_segment, p.clv_band
        FROM ids i LEFT JOIN user_profiles p USING (user_id)
        ORDER BY i.user_id LIMIT ?
        """,
        [text, text, text, int(limit)],
    ).fetchall()
    keys = ("user_id", "lifecycle", "rfm_segment", "clv_band")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def known_customer(con: duckdb.DuckDBPyConnection, user_id: str) -> bool:
    row = con.execute(
        "SELECT (SELECT count(*) FROM users WHERE user_id = $1) + "
        "(SELECT count(*) FROM events WHERE user_id = $1 LIMIT 1) + "
        "(SELECT count(*) FROM orders WHERE user_id = $1)",
        [user_id],
    ).fetchone()
    return bool(row and row[0])


def profile(con: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, Any] | None:
    """The user's tags from ``user_profiles`` (as ``shopmind profile --json``)."""
    from shopmind.analytics.store import read_profile

    return read_profile(con, [user_id])


def clv(workspace: Workspace, user_id: str) -> dict[str, Any] | None:
    """12-month CLV with its interval from the fitted CLV model; None without a model or
    for a customer the model did not see (no purchases before its fit)."""
    from shopmind.analytics.store import clv_model_dir
    from shopmind.models.clv import CLVModel

    directory = clv_model_dir(workspace)
    if not directory.exists() or not any(directory.iterdir()):
        return None

    def build() -> pd.DataFrame:
        model = CLVModel.load(directory)
        return model.predict(CLV_MONTHS, 0.0).set_index("customer_id")

    try:
        newest = max(directory.iterdir(), key=lambda p: p.stat().st_mtime)
        frame = _cached(newest, build)
    except NotFittedError:
        return None
    if user_id not in frame.index:
        return {"known": False, "horizon_months": CLV_MONTHS}
    row = frame.loc[user_id]
    return {"known": True, "horizon_months": CLV_MONTHS, **{k: float(v) for k, v in row.items()}}


def propensity(workspace: Workspace, tables: Any, user_id: str) -> dict[str, Any] | None:
    """Score and top reasons at the model's training cutoff (``propensity explain``)."""
    from shopmind.models.propensity import PropensityModel

    path = workspace.models_dir / "propensity" / "model.pkl"
    if not path.exists():
        return None

    def build() -> tuple[Any, pd.DataFrame]:
        model = PropensityModel.load(path)
        if model.cutoff_ is None:  # tabular mode: no workspace features to score
            return model, pd.DataFrame({"user_id": []})
        return model, model.snapshot(tables, model.cutoff_, labelled=False)

    model, features = _cached(path, build)
    row = features[features["user_id"] == user_id]
    if row.empty:
        return {"known": False, "target": model.config.target, "cutoff": model.cutoff_}
    return {
        "known": True,
        "target": model.config.target,
        "cutoff": model.cutoff_,
        "score": float(model.predict(row)[0]),
        "reasons": model.reasons(row, top=5)[0],
    }


def prepare(workspace: Workspace, tables: Any) -> None:
    """Fit-free warm-up: score every user with the CLV and propensity models once (what the
    first customer view would otherwise wait for: seconds on a 10k-user shop)."""
    clv(workspace, "")
    propensity(workspace, tables, "")


def conversations(con: duckdb.DuckDBPyConnection, user_id: str) -> list[dict[str, Any]]:
    """The customer's assistant conversations (stored redacted), newest first."""
    rows = con.execute(
        "SELECT conversation_id, status, handoff, summary, assigned_agent, updated_at, "
        "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.conversation_id) "
        "FROM conversations c WHERE user_id = ? ORDER BY updated_at DESC LIMIT 20",
        [user_id],
    ).fetchall()
    keys = ("conversation_id", "status", "handoff", "summary", "assigned_agent", "updated_at")
    return [{**dict(zip(keys, r[:6], strict=True)), "messages": r[6]} for r in rows]


def risk_flags(con: duckdb.DuckDBPyConnection, user_id: str) -> dict[str, Any]:
    """Review-queue entries of the customer's orders and fraud labels on the customer."""
    reviews = con.execute(
        "SELECT review_id, entity_id, score, decision, reasons, status, created_at "
        "FROM risk_reviews WHERE user_id = ? ORDER BY score DESC LIMIT 20",
        [user_id],
    ).fetchall()
    keys = ("review_id", "entity_id", "score", "decision", "reasons", "status", "created_at")
    labels = con.execute(
        "SELECT value, source FROM labels WHERE subject_type = 'user' AND subject_id = ? "
        "AND name = 'fraud'",
        [user_id],
    ).fetchall()
    return {
        "reviews": [dict(zip(keys, r, strict=True)) for r in reviews],
        "labels": [{"value": v, "source": s} for v, s in labels],
    }


def customer_view(
    con: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    user_id: str,
    *,
    audit: Audit,
    principal: str,
    role: str | None,
    tables: Any = None,
    recommending: Any = None,
    k: int = 10,
) -> dict[str, Any]:
    """Everything the console shows about one customer, audited (one entry per view).

    ``con``: a read connection (the service's cursor); ``tables``: Ibis tables over it (for
    propensity); ``recommending``: the service's loaded recommender (model and catalogue).
    """
    user_id = user_id.strip()
    if not user_id or len(user_id) > 200:
        raise ShopmindError("Give one customer id.", hint="Search by the start of the id.")
    if not known_customer(con, user_id) and profile(con, user_id) is None:
        audit(AuditEntry(principal, role, "customer view", f"user={user_id[:120]}", "not found"))
        raise ShopmindError(
            f"No customer '{user_id[:80]}'.",
            hint="Search by the start of the stored (pseudonymised) id.",
        )
    view: dict[str, Any] = {
        "user_id": user_id,
        "profile": profile(con, user_id),
        "clv": clv(workspace, user_id),
        "propensity": propensity(workspace, tables, user_id) if tables is not None else None,
        "recommendations": _recommendations(con, user_id, recommending, k),
        "conversations": conversations(con, user_id),
        "risk": risk_flags(con, user_id),
    }
    audit(AuditEntry(principal, role, "customer view", f"user={user_id[:120]}", "ok"))
    return view


def _recommendations(
    con: duckdb.DuckDBPyConnection, user_id: str, recommending: Any, k: int
) -> list[dict[str, Any]] | None:
    from shopmind.features.eligibility import excluded_items
    from shopmind.models.recommend.browse import user_recommendations
    from shopmind.models.recommend.rules import ItemCatalog

    if recommending is None:
        return None
    model = recommending.model
    if user_id not in model.key_index_:
        return []
    catalog = recommending.catalog or ItemCatalog.load(con, model.data_.item_ids)
    blocked = set(excluded_items(con))
    return user_recommendations(model, catalog, con, user_id, k, blocked)


__all__ = ["customer_view", "find_customers", "prepare"]
