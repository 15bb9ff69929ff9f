"""The ingest's hook into the re-identification vault (:mod:`shopmind.store.vault`).

Inside the load's transaction, the original id of every user in the loaded rows and the
e-mail / phone columns of the file (the ones the PII rules hash into ``<col>_hash``) are
kept encrypted, keyed by the stored user id. Raw values travel only from the temporary
staging tables to the cipher, never into a table in clear.
"""

from __future__ import annotations

import duckdb

from shopmind.ingest.context import Context
from shopmind.ingest.extract import quote_ident
from shopmind.store import vault


def fill_vault(con: duckdb.DuckDBPyConnection, ctx: Context) -> int:
    """Vault rows written for the good rows of ``_staged`` (0 without a key)."""
    key = vault.vault_key(ctx.options.key or None, ctx.options.vault_key)
    columns = {r[0] for r in con.execute("DESCRIBE _staged").fetchall()}
    if key is None or "user_id" not in columns:
        return 0
    good = "s._reason IS NULL AND s.user_id IS NOT NULL"
    stored = ctx.user_id("CAST(s.user_id AS VARCHAR)")
    rows = con.execute(
        f"SELECT DISTINCT {stored}, CAST(s.user_id AS VARCHAR) FROM _staged s WHERE {good}"
    ).fetchall()
    entries = [(str(u), "user_id", str(raw)) for u, raw in rows]
    for column, kind in ctx.pii_columns.items():
        if kind not in vault.CONTACT_KINDS:
            continue
        value = quote_ident(column)
        contacts = con.execute(
            f"SELECT {stored}, CAST(r.{value} AS VARCHAR) FROM _raw r JOIN _staged s "
            f"USING (_row) WHERE {good} AND r.{value} IS NOT NULL"
        ).fetchall()
        entries += [(str(u), kind, str(v).strip()) for u, v in contacts]
    return vault.store(con, entries, key)
