"""The workspace's differential-privacy budget and the ledger of every release.

One row in ``privacy_budget`` holds the workspace's total epsilon (default 10, set with
``shopmind dp budget --set EPS``) and the epsilon spent so far; ``privacy_ledger`` has one row
per release (id, time, kind, query, epsilon, delta, mechanism, noise scales, principal).
:func:`spend` checks the budget, records the spend and draws the noise in one transaction:
a release that would pass the total is refused before any noise is drawn, and a release
whose noise cannot be drawn leaves no spend behind. Epsilons add up (basic composition).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import duckdb

from shopmind.privacy.dp import EPSILON_SLACK, DPError, check_epsilon
from shopmind.store.workspace import Workspace

T = TypeVar("T")
DEFAULT_BUDGET = 10.0
CONFLICT_RETRIES = 10


class BudgetExceededError(DPError):
    """A release would spend more epsilon than the workspace has left."""


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded release."""

    release_id: str
    ts: datetime
    kind: str
    query: str
    epsilon: float
    delta: float
    mechanism: str
    noise_scale: dict[str, float]
    principal: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(con: duckdb.DuckDBPyConnection) -> tuple[float, float]:
    found = con.execute(
        "SELECT epsilon_total, epsilon_spent FROM privacy_budget WHERE budget_id = 1"
    ).fetchall()
    if not found:  # the row is created by migration 9; a deleted one means the default again
        con.execute(
            "INSERT INTO privacy_budget VALUES (1, ?, 0.0, now(), 'default')", [DEFAULT_BUDGET]
        )
        return DEFAULT_BUDGET, 0.0
    return float(found[0][0]), float(found[0][1])


def status(workspace: Workspace, *, limit: int | None = 20) -> dict[str, Any]:
    """Total, spent and remaining epsilon, with the newest ``limit`` ledger entries."""
    workspace.init()  # an older workspace gains the tables here
    with workspace.connect(read_only=True) as con:
        result = read_status(con, limit=limit)
    assert result is not None  # init ran migration 9
    return result


def read_status(con: duckdb.DuckDBPyConnection, *, limit: int | None = 10) -> dict[str, Any] | None:
    """:func:`status` on an open (read-only) connection; None before migration 9 ran."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'privacy_ledger'"
    ).fetchall()
    if not found[0][0]:
        return None
    budget = con.execute(
        "SELECT epsilon_total, epsilon_spent FROM privacy_budget WHERE budget_id = 1"
    ).fetchall()
    total, spent = (float(budget[0][0]), float(budget[0][1])) if budget else (DEFAULT_BUDGET, 0.0)
    count = int(con.execute("SELECT count(*) FROM privacy_ledger").fetchall()[0][0])
    return {
        "epsilon_total": total,
        "epsilon_spent": round(spent, 12),
        "epsilon_remaining": round(max(total - spent, 0.0), 12),
        "releases": count,
        "ledger": [e.to_dict() for e in _entries(con, limit)],
    }


def ledger(workspace: Workspace, *, limit: int | None = None) -> list[LedgerEntry]:
    """Recorded releases, newest first."""
    workspace.init()
    with workspace.connect() as con:
        return _entries(con, limit)


def _entries(con: duckdb.DuckDBPyConnection, limit: int | None) -> list[LedgerEntry]:
    sql = (
        "SELECT release_id, ts, kind, query, epsilon, delta, mechanism, noise_scale, principal "
        "FROM privacy_ledger ORDER BY ts DESC, release_id"
    )
    rows = con.execute(
        sql + (" LIMIT ?" if limit is not None else ""), [limit] if limit is not None else []
    )
    return [
        LedgerEntry(r[0], r[1], r[2], r[3], float(r[4]), float(r[5]), r[6], json.loads(r[7]), r[8])
        for r in rows.fetchall()
    ]


#: The largest total epsilon a workspace may allow (a hundred releases at the largest
#: epsilon): ``--set 1e308`` switched the budget off.
MAX_BUDGET = 1e6


def set_budget(workspace: Workspace, epsilon_total: float, *, principal: str) -> dict[str, Any]:
    """Set the workspace's total epsilon; never below what is already spent."""
    if not (0 <= epsilon_total <= MAX_BUDGET):
        raise DPError(
            f"A budget must be an epsilon between 0 and {MAX_BUDGET:,.0f}, got {epsilon_total}.",
            hint="e.g. `shopmind dp budget --set 10` (a larger budget is no privacy at all).",
        )
    workspace.init()
    with workspace.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            _, spent = _row(con)
            if epsilon_total + EPSILON_SLACK < spent:
                raise DPError(
                    f"Cannot set the privacy budget to {epsilon_total:g}: {spent:g} is already "
                    "spent (spent epsilon is never given back).",
                    hint=f"Set at least {spent:g}, or release from a new workspace.",
                )
            con.execute(
                "UPDATE privacy_budget SET epsilon_total = ?, updated_at = now(), "
                "updated_by = ? WHERE budget_id = 1",
                [epsilon_total, principal],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return status(workspace, limit=0)


@dataclass(frozen=True)
class Charge:
    """What one release costs and how it is described in the ledger."""

    kind: str
    query: str
    epsilon: float
    mechanism: str
    noise_scale: dict[str, float]
    delta: float = 0.0


def spend(
    workspace: Workspace, cost: Charge, *, principal: str, release: Callable[[], T]
) -> tuple[T, LedgerEntry]:
    """Record ``cost`` and run ``release()`` (which draws the noise) in one transaction;
    refuse with :class:`BudgetExceededError` when the budget would be passed. A concurrent
    spend in this process conflicts on the budget row: the loser retries."""
    check_epsilon(cost.epsilon)
    workspace.init()
    conflict: Exception | None = None
    for attempt in range(CONFLICT_RETRIES):
        try:
            with workspace.connect() as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    result = charge(con, cost, principal=principal, release=release)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            return result
        except duckdb.TransactionException as exc:
            conflict = exc
            time.sleep(0.005 * (attempt + 1))
    raise DPError(
        f"Another release was being recorded at the same time; this {cost.kind} release was "
        "not made (nothing spent).",
        hint="Retry the command.",
    ) from conflict


def charge(
    con: duckdb.DuckDBPyConnection, cost: Charge, *, principal: str, release: Callable[[], T]
) -> tuple[T, LedgerEntry]:
    """:func:`spend` inside the caller's open transaction (e.g. the service's writer): check
    and spend the budget, append the ledger row, then ``release()``. Roll back on any error."""
    check_epsilon(cost.epsilon)
    entry = LedgerEntry(
        release_id="dp_" + uuid.uuid4().hex[:16],
        ts=datetime.now(UTC),
        kind=cost.kind,
        query=cost.query,
        epsilon=float(cost.epsilon),
        delta=float(cost.delta),
        mechanism=cost.mechanism,
        noise_scale={k: float(v) for k, v in cost.noise_scale.items()},
        principal=principal,
    )
    total, spent = _row(con)
    # one statement checks and spends: a concurrent spend conflicts on this row
    updated = con.execute(
        "UPDATE privacy_budget SET epsilon_spent = epsilon_spent + ?, "
        "updated_at = now(), updated_by = ? "
        "WHERE budget_id = 1 AND epsilon_spent + ? <= epsilon_total + ? "
        "RETURNING epsilon_spent",
        [entry.epsilon, principal, entry.epsilon, EPSILON_SLACK],
    ).fetchall()
    if not updated:
        left = max(total - spent, 0.0)
        raise BudgetExceededError(
            f"Refused: this {cost.kind} release needs epsilon {cost.epsilon:g} but the "
            f"workspace's privacy budget has {left:g} left ({spent:g} of {total:g} spent). "
            "Nothing was released or recorded.",
            hint="Release with a smaller --epsilon, or raise the total with "
            "`shopmind dp budget --set EPS` if your privacy policy allows it.",
        )
    con.execute(
        "INSERT INTO privacy_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry.release_id,
            entry.ts,
            entry.kind,
            entry.query,
            entry.epsilon,
            entry.delta,
            entry.mechanism,
            json.dumps(entry.noise_scale),
            principal,
        ],
    )
    return release(), entry
