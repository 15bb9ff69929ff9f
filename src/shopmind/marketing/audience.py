"""Audiences for activation: whom a segment, a score threshold or a campaign plan chose.

An audience is a named, ranked list of stored user ids (pseudonyms) in
``audience_members``; analysts work on it as it is. Only :func:`export_audience` with
``reveal`` adds original ids and contact fields, read through the one audited vault reader
(:func:`shopmind.store.vault.reveal`), which refuses roles without ``audience.reveal`` and
audits each reveal with its count.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.jsonable import to_jsonable
from shopmind.store import Workspace, migrate, vault
from shopmind.store.audit import (
    AuditChain,
    AuditEntry,
    audited_transaction,
    cli_principal,
)

#: Score columns looked for, in order, in a scores or plan file.
SCORE_COLUMNS = ("score", "expected_profit", "uplift", "propensity")
MAX_NAME = 64


class AudienceError(ShopmindError):
    """An audience cannot be built or found."""


@dataclass(frozen=True)
class AudienceSpec:
    """Where an audience comes from: a segment of ``user_profiles`` (RFM segment name or
    behavioural segment number), or a scores / campaign-plan CSV (``user_id`` plus a score
    column); ``min_score`` and ``top`` narrow it."""

    name: str
    segment: str | None = None
    scores: Path | None = None
    min_score: float | None = None
    top: int | None = None


def _check_name(name: str) -> None:
    usable = all((c.isascii() and c.isalnum()) or c in "-_." for c in name)
    if not name or len(name) > MAX_NAME or not usable:
        raise AudienceError(
            f"Audience name {name[:80]!r} is not usable.",
            hint=f"Use up to {MAX_NAME} ASCII letters, digits, '-', '_' or '.'.",
        )


def _from_segment(con: duckdb.DuckDBPyConnection, segment: str) -> pd.DataFrame:
    frame = con.execute(
        "SELECT user_id, clv AS score FROM user_profiles "
        "WHERE rfm_segment = ? OR CAST(segment AS VARCHAR) = ? OR lifecycle = ?",
        [segment, segment, segment],
    ).df()
    if frame.empty:
        known = con.execute(
            "SELECT DISTINCT rfm_segment FROM user_profiles WHERE rfm_segment IS NOT NULL "
            "ORDER BY 1 LIMIT 20"
        ).fetchall()
        raise AudienceError(
            f"No user in segment '{segment}'.",
            hint="Compute profiles with `shopmind analyze profiles`; RFM segments here: "
            + (", ".join(str(r[0]) for r in known) or "none yet")
            + " (or a behavioural segment number).",
        )
    return frame


def _from_scores(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise AudienceError(f"File not found: {path}.", hint="Check the --scores path.")
    frame = pd.read_csv(path, dtype={"user_id": str})
    column = next((c for c in SCORE_COLUMNS if c in frame.columns), None)
    if "user_id" not in frame.columns or column is None:
        raise AudienceError(
            f"{path} needs a user_id column and one of {', '.join(SCORE_COLUMNS)} "
            f"(found: {', '.join(map(str, frame.columns))}).",
            hint="Use the output of `propensity score --out` or `campaign plan --out`.",
        )
    return frame[["user_id", column]].rename(columns={column: "score"})


def latest_plan(workspace: Workspace) -> Path:
    """The audience CSV of the latest ``campaign plan`` (named in reports/campaign_plan.json)."""
    from shopmind.marketing.plans import read_plan

    out = (read_plan(workspace) or {}).get("out")
    if not out or not Path(out).is_file():
        raise AudienceError(
            "No campaign plan audience to read.",
            hint="Run `shopmind campaign plan --budget B --cost C --value V --out audience.csv` "
            "first, or pass its CSV with --scores.",
        )
    return Path(out)


def build_audience(workspace: Workspace, spec: AudienceSpec) -> dict[str, Any]:
    """Store the audience (replacing one of the same name); returns its summary."""
    _check_name(spec.name)
    if (spec.segment is None) == (spec.scores is None):
        raise AudienceError(
            "An audience comes from exactly one of --segment or --scores.",
            hint="e.g. `audience build vip --segment Champions` or "
            "`audience build plan1 --scores audience.csv --top 1000`.",
        )
    source = f"segment:{spec.segment}" if spec.segment is not None else f"scores:{spec.scores}"
    with workspace.connect() as con:
        migrate(con)
        frame = (
            _from_segment(con, spec.segment)
            if spec.segment is not None
            else _from_scores(spec.scores)  # type: ignore[arg-type]
        )
        frame = frame.dropna(subset=["user_id"]).drop_duplicates("user_id")
        # only customers the workspace holds: ids of a stale file, another shop or a person
        # erased with `forget` since the file was written never join an audience
        con.register("_candidates", frame[["user_id"]].astype(str))
        known = {
            r[0]
            for r in con.execute(
                "SELECT c.user_id FROM _candidates c WHERE c.user_id IN (SELECT user_id FROM "
                "users) OR c.user_id IN (SELECT user_id FROM events WHERE user_id IS NOT NULL)"
            ).fetchall()
        }
        con.unregister("_candidates")
        unknown = int((~frame["user_id"].astype(str).isin(known)).sum())
        frame = frame[frame["user_id"].astype(str).isin(known)]
        if spec.min_score is not None:
            frame = frame[frame["score"] >= spec.min_score]
        frame = frame.sort_values(["score", "user_id"], ascending=[False, True], na_position="last")
        if spec.top is not None:
            frame = frame.head(spec.top)
        members = pd.DataFrame(
            {
                "audience": spec.name,
                "user_id": frame["user_id"].astype(str).to_numpy(),
                "rank": range(1, len(frame) + 1),
                "score": pd.to_numeric(frame["score"], errors="coerce").to_numpy(),
                "source": source[:300],
                "created_at": datetime.now(UTC),
            }
        )
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM audience_members WHERE audience = ?", [spec.name])
            con.register("_members", members)
            con.execute("INSERT INTO audience_members SELECT * FROM _members")
            con.unregister("_members")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return {
        "audience": spec.name,
        "source": source,
        "members": len(members),
        "unknown_ids_left_out": unknown,
    }


def list_audiences(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT audience, count(*) AS members, any_value(source) AS source, "
        "max(created_at) AS created_at FROM audience_members GROUP BY audience ORDER BY audience"
    ).fetchall()
    names = ("audience", "members", "source", "created_at")
    return [to_jsonable(dict(zip(names, r, strict=True))) for r in rows]


def members(con: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    """The audience's rows (rank, user_id, score); an AudienceError when it does not exist."""
    rows = con.execute(
        "SELECT rank, user_id, score FROM audience_members WHERE audience = ? ORDER BY rank",
        [name],
    ).fetchall()
    if not rows:
        raise AudienceError(
            f"No audience '{name}'.",
            hint="Build one with `shopmind audience build NAME --segment S` (or --scores FILE).",
        )
    return [{"rank": int(r), "user_id": str(u), "score": to_jsonable(s)} for r, u, s in rows]


def reveal_members(
    con: duckdb.DuckDBPyConnection,
    name: str,
    keys: Sequence[bytes],
    *,
    principal: str,
    role: str | None,
    chain: AuditChain,
) -> list[dict[str, Any]]:
    """Members with ``original_id``, ``email`` and ``phone`` from the vault, in the caller's
    transaction (the vault reader appends the audit entry through ``chain``)."""
    rows = members(con, name)
    found = vault.reveal(
        con,
        [r["user_id"] for r in rows],
        keys,
        principal=principal,
        role=role,
        purpose=f"audience={name} members={len(rows)}",
        chain=chain,
    )
    for row in rows:
        fields = found.get(row["user_id"], {})
        row["original_id"] = fields.get("user_id")
        row["email"] = fields.get("email")
        row["phone"] = fields.get("phone")
    return rows


def export_audience(
    workspace: Workspace,
    name: str,
    out: Path,
    *,
    reveal: bool = False,
    keys: Sequence[bytes] = (),
    principal: str | None = None,
    role: str | None = "admin",
) -> dict[str, Any]:
    """Write the audience as CSV: ``rank,user_id,score`` (pseudonyms), plus
    ``original_id,email,phone`` with ``reveal`` (audited; see :func:`reveal_members`)."""
    who = principal or cli_principal()
    with workspace.connect() as con:
        migrate(con)
        # a refusal (VaultError) stays in the audit trail
        with audited_transaction(con, workspace, keep_on=(vault.VaultError,)) as chain:
            if reveal:
                rows = reveal_members(con, name, keys, principal=who, role=role, chain=chain)
            else:
                rows = members(con, name)
            target = f"audience={name} members={len(rows)} reveal={reveal} out={out.name}"
            chain.append(con, [AuditEntry(who, role, "audience export", target, "ok")])
    columns = ["rank", "user_id", "score"] + (["original_id", "email", "phone"] if reveal else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    revealed = sum(1 for r in rows if r.get("original_id")) if reveal else 0
    return {"audience": name, "members": len(rows), "revealed": revealed, "out": str(out)}
