"""Which items are products: non-product lines (postage, fees, adjustments, vouchers) are
recognised by formats at ingest and by the user's exclusion list (``item_eligibility``).

A ``user`` row overrides a format's row, so a shop can bring back an item a format excluded
(``shopmind items include``) or exclude its own (``shopmind items exclude``). Non-product
items are never recommended and never counted as products in best-sellers.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from shopmind.errors import ShopmindError

#: The latest decision per item, a user's before a format's.
_EFFECTIVE = """
    SELECT item_id, eligible, reason, source FROM (
        SELECT *, row_number() OVER (
            PARTITION BY item_id ORDER BY source = 'user' DESC, updated_at DESC) AS rn
        FROM item_eligibility)
    WHERE rn = 1
"""


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'item_eligibility'"
    ).fetchall()
    return bool(rows[0][0])


def excluded_items(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Non-product item ids and why (empty for a workspace without the table)."""
    if not _has_table(con):
        return {}
    rows = con.execute(f"SELECT item_id, reason, source FROM ({_EFFECTIVE}) WHERE NOT eligible")
    return {str(i): str(r or s) for i, r, s in rows.fetchall()}


def excluded_sql() -> str:
    """SELECT of excluded item ids, for ``item_id NOT IN (...)`` filters in SQL."""
    return f"SELECT item_id FROM ({_EFFECTIVE}) WHERE NOT eligible"


def set_eligibility(
    con: duckdb.DuckDBPyConnection, items: Sequence[str], eligible: bool, reason: str | None
) -> int:
    """Record the user's decision for ``items``; returns how many were written."""
    if not items:
        raise ShopmindError("No item ids given.", hint="Pass one or more item ids.")
    if not _has_table(con):
        raise ShopmindError(
            "This workspace has no item_eligibility table.",
            hint="Open it once with this shopmind (`shopmind info`) to migrate it.",
        )
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "DELETE FROM item_eligibility WHERE source = 'user' AND item_id IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [list(items)],
    )
    con.executemany(
        "INSERT INTO item_eligibility VALUES (?, ?, ?, 'user', now())",
        [[str(i), eligible, reason] for i in items],
    )
    con.execute("COMMIT")
    return len(items)


def eligibility_table(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Every recorded decision in effect (excluded and re-included items)."""
    if not _has_table(con):
        return []
    rows = con.execute(f"{_EFFECTIVE} ORDER BY eligible, item_id").fetchall()
    return [{"item_id": i, "eligible": e, "reason": r, "source": s} for i, e, r, s in rows]
