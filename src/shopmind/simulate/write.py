"""Write a simulated shop into a workspace through the ordinary ingest path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.ingest import IngestOptions, IngestReport, ingest_file
from shopmind.simulate.shop import SimulatedShop
from shopmind.store import Workspace
from shopmind.store.encryption import seal_file, write_file


def write_shop(
    workspace: Workspace,
    shop: SimulatedShop,
    key: bytes,
    pii_policy: str = "hash",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Save source files under ``raw/``, ingest them, then store labels, campaign and tickets.

    Ids are synthetic, so user ids are not pseudonymised (the truth joins on them); e-mails
    and phone numbers still pass the PII rules. Returns per-file ingest reports and the truth.
    """
    step = progress or (lambda _s: None)
    folder = workspace.raw_dir / f"simulated_seed{shop.config.seed}"
    _refuse_other_simulation(workspace, folder)
    folder.mkdir(parents=True, exist_ok=True)
    reports: dict[str, IngestReport] = {}
    for table in ("items", "users", "events", "orders"):
        step(f"ingest {table}")
        path = folder / f"{table}.parquet"
        frame: pd.DataFrame = getattr(shop, table)
        frame.to_parquet(path, index=False)
        options = IngestOptions(
            "generic",
            pseudonymize=False,
            key=key,
            pii_policy=pii_policy if key else "drop",
            table=table,
        )
        reports[table] = ingest_file(workspace, path, options)
        seal_file(path)  # sealed (AES-GCM) in an encrypted workspace
    step("labels, campaign, tickets")
    with workspace.connect() as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM labels WHERE source = 'simulator'")
        con.execute(
            "DELETE FROM campaign_assignments WHERE campaign_id = ?",
            [shop.truth["campaign"]["campaign_id"]],
        )
        con.execute("DELETE FROM tickets WHERE ticket_id LIKE 't%'")
        con.register("_labels_df", shop.labels)
        con.register("_assign_df", shop.campaign_assignments)
        con.register("_tickets_df", shop.tickets)
        con.execute(
            "INSERT INTO labels SELECT subject_type, subject_id, name, value, source "
            "FROM _labels_df"
        )
        con.execute(
            "INSERT INTO campaign_assignments BY NAME SELECT campaign_id, user_id, arm, sent_ts, "
            "converted, revenue FROM _assign_df"
        )
        con.execute(
            "INSERT INTO tickets SELECT ticket_id, user_id, order_id, ts, language, "
            "channel, text, intent FROM _tickets_df"
        )
        con.execute("COMMIT")
    write_file(folder / "truth.json", json.dumps(shop.truth, indent=2, default=str).encode())
    if shop.identity_links is not None:  # for `shopmind identity link --links FILE`
        links = shop.identity_links.to_csv(index=False).encode()
        write_file(folder / "identity_links.csv", links)
    return {
        "folder": str(folder),
        "ingest": {t: r.to_dict() for t, r in reports.items()},
        "labels": len(shop.labels),
        "campaign_assignments": len(shop.campaign_assignments),
        "tickets": len(shop.tickets),
        "truth": shop.truth,
    }


def _refuse_other_simulation(workspace: Workspace, folder: Path) -> None:
    if not workspace.raw_dir.exists():
        return
    others = [p.name for p in workspace.raw_dir.glob("simulated_seed*") if p != folder]
    if others:
        raise ShopmindError(
            f"{workspace.root} already holds a simulated shop ({', '.join(others)}); two "
            "simulations would mix their synthetic ids.",
            hint="Use another --workspace, or the same --seed to refresh it.",
        )
