"""The ingest's hook into the re-identification vault (:mod:`shopmind.store.vault`).

Inside the load's transaction, the original id of every user in the loaded rows and the
e-mail / phone columns of the file (the ones the PII rules hash into ``<col>_hash``) are
kept encrypted, keyed by the stored user id. Raw values travel only from the temporary
staging tables to the cipher, never into a table in clear.

Each distinct raw id is pseudonymised once (the deduplication step's ``_uids`` map when it
exists), and people already in the vault are not encrypted again.
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import quote_ident
from shopmind.store import vault


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def fill_vault(con: duckdb.DuckDBPyConnection, ctx: Context) -> int:
    """Vault rows written for the good rows of ``_staged`` (0 without a key)."""
    key = vault.vault_key(ctx.options.key or None, ctx.options.vault_key)
    columns = {r[0] for r in con.execute("DESCRIBE _staged").fetchall()}
    if key is None or "user_id" not in columns:
        return 0
    good = "s._reason IS NULL AND s.user_id IS NOT NULL"
    if ctx.options.pseudonymize and _has_table(con, "_uids"):
        ids = "SELECT pseudo AS user_id, 'user_id' AS field, raw AS value, 0 AS seq FROM _uids"
    else:
        ids = (
            f"SELECT {ctx.user_id('raw')} AS user_id, 'user_id' AS field, raw AS value, "
            f"0 AS seq FROM (SELECT DISTINCT CAST(s.user_id AS VARCHAR) AS raw "
            f"FROM _staged s WHERE {good})"
        )
    parts = [ids]
    for column, kind in ctx.pii_columns.items():
        if kind not in vault.CONTACT_KINDS:
            continue
        value = quote_ident(column)
        parts.append(
            f"SELECT {ctx.user_id('CAST(s.user_id AS VARCHAR)')} AS user_id, '{kind}' AS field, "
            f"trim(regexp_replace(CAST(r.{value} AS VARCHAR), '^\\s+|\\s+$', '', 'g')) AS value, "
            "s._row AS seq "
            f"FROM _raw r JOIN _staged s USING (_row) WHERE {good} AND r.{value} IS NOT NULL"
        )
    return vault.store_query(con, " UNION ALL ".join(parts), key)
