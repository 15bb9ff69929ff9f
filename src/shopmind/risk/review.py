"""The review queue: flagged orders with score and reasons; analysts confirm (bad) or clear
(good) them, and each decision becomes a ``fraud`` label (source ``review``) for the next
training. Every change is one transaction.

The functions take a :class:`~shopmind.store.Workspace` (the CLI: they open it themselves) or
an open connection (the service: its own cursor for reads, its writer's connection inside
the writer's transaction for :func:`decide_on`), so they work inside ``shopmind serve``,
which holds the workspace open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.store import Workspace

#: Where the queue is read or written: a workspace (opened here) or an open connection.
Source = Workspace | duckdb.DuckDBPyConnection

STATUSES = ("open", "confirmed", "cleared")


class ReviewError(ShopmindError):
    """A review cannot be changed as asked."""


def enqueue(workspace: Workspace, flagged: pd.DataFrame, entity: str = "order") -> int:
    """Add ``flagged`` rows (order_id, user_id, risk_score, decision, reasons) as open
    reviews; orders already in the queue are left as they are. Returns rows added."""
    if flagged.empty:
        return 0
    rows = pd.DataFrame(
        {
            "review_id": "rv_" + flagged["order_id"].astype(str),
            "entity": entity,
            "entity_id": flagged["order_id"].astype(str),
            "user_id": flagged["user_id"].astype("string"),
            "score": flagged["risk_score"].astype(float),
            "decision": flagged["decision"].astype(str),
            "reasons": flagged["reasons"].astype(str) if "reasons" in flagged else None,
        }
    )
    with workspace.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("_flagged", rows)
            before = _count(con)
            con.execute(
                """
                INSERT INTO risk_reviews
                SELECT review_id, entity, entity_id, user_id, score, decision, reasons, 'open',
                       now(), NULL, NULL, NULL
                FROM _flagged
                WHERE review_id NOT IN (SELECT review_id FROM risk_reviews)
                """
            )
            after = _count(con)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return int(after - before)


def _count(con: Any) -> int:
    row = con.execute("SELECT count(*) FROM risk_reviews").fetchone()
    return int(row[0]) if row else 0


def reading(source: Source) -> Any:
    """A read connection: ``source`` itself, or the workspace opened read-only."""
    if isinstance(source, Workspace):
        return source.connect(read_only=True)
    return nullcontext(source)


def list_reviews(
    source: Source, status: str | None = "open", limit: int = 50
) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise ReviewError(f"Unknown status '{status}'.", hint=f"Use one of: {', '.join(STATUSES)}.")
    with reading(source) as con:
        where = "WHERE status = ?" if status else ""
        params = [status] if status else []
        frame = con.execute(
            f"SELECT * FROM risk_reviews {where} ORDER BY score DESC, review_id LIMIT {int(limit)}",
            params,
        ).df()
    return [
        {str(k): (None if pd.isna(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def find_review(con: Any, review_id: str) -> tuple[str, str, str | None]:
    """(entity, entity_id, user_id) of a review, or ReviewError naming the way to list them."""
    found = con.execute(
        "SELECT entity, entity_id, user_id FROM risk_reviews WHERE review_id = ?", [review_id]
    ).fetchone()
    if found is None:
        raise ReviewError(
            f"No review '{review_id}'.",
            hint="List them with `shopmind risk review list` or GET /v1/risk/reviews "
            "(ids start with rv_).",
        )
    return str(found[0]), str(found[1]), None if found[2] is None else str(found[2])


def decide_on(
    con: Any, review_id: str, confirm: bool, by: str, note: str | None = None
) -> dict[str, Any]:
    """Confirm (bad) or clear (good) a review on ``con``, inside the caller's transaction:
    the review's status and its ``fraud`` label (source review) change together."""
    if not by.strip():
        raise ReviewError("A decision needs the analyst's name.", hint="Pass --by NAME.")
    status = "confirmed" if confirm else "cleared"
    now = datetime.now(UTC)
    entity, entity_id, user_id = find_review(con, review_id)
    con.execute(
        "UPDATE risk_reviews SET status = ?, decided_by = ?, decided_at = ?, note = ? "
        "WHERE review_id = ?",
        [status, by, now, note, review_id],
    )
    con.execute(
        "DELETE FROM labels WHERE subject_type = ? AND subject_id = ? AND name = 'fraud' "
        "AND source = 'review'",
        [entity, entity_id],
    )
    con.execute(
        "INSERT INTO labels VALUES (?, ?, 'fraud', ?, 'review')",
        [entity, entity_id, "1" if confirm else "0"],
    )
    return {
        "review_id": review_id,
        "entity": entity,
        "entity_id": entity_id,
        "user_id": user_id,
        "status": status,
        "decided_by": by,
        "decided_at": now.isoformat(),
        "label": 1 if confirm else 0,
    }


@contextmanager
def _transaction(con: Any) -> Iterator[Any]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def decide(
    source: Source, review_id: str, confirm: bool, by: str, note: str | None = None
) -> dict[str, Any]:
    """Confirm (bad) or clear (good) a review in one transaction; writes the ``fraud`` label
    (source review). ``source``: a workspace (opened for writing) or a write connection."""
    if not by.strip():
        raise ReviewError("A decision needs the analyst's name.", hint="Pass --by NAME.")
    if isinstance(source, Workspace):
        with source.connect() as con, _transaction(con):
            return decide_on(con, review_id, confirm, by, note)
    with _transaction(source):
        return decide_on(source, review_id, confirm, by, note)
