"""Campaign work on an open connection (the console's Campaigns page inside ``shopmind
serve``, which holds the workspace open): the plan of ``shopmind campaign plan`` with its
segment mix, the audience as CSV, and the analysis of ``shopmind abtest analyze --campaign``.

The numbers are those of the CLI: the same :func:`shopmind.marketing.campaign.plan` with the
same seed, the same RFM segments, the same assignments query and
:func:`shopmind.marketing.abtest.analyze`.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import duckdb
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.features.tables import Tables
from shopmind.marketing.campaign import CampaignBudget, plan, segment_mix

#: The audience's CSV columns (as the CLI's ``--out`` file).
AUDIENCE_COLUMNS = ("user_id", "uplift", "expected_profit", "segment")


def check_budget(budget: float, cost: float, value: float) -> CampaignBudget:
    """A budget, or a ShopmindError naming the field to fix (for forms)."""
    for name, number in (("budget", budget), ("cost per contact", cost), ("value", value)):
        if not (math.isfinite(number) and number > 0):  # NaN, inf, or not positive
            raise ShopmindError(
                f"The {name} must be a positive, finite number (got {number:g}).",
                hint="Enter an amount above 0 in the shop's currency.",
            )
    if cost > budget:
        raise ShopmindError(
            f"The budget {budget:g} does not pay for one contact at {cost:g}.",
            hint="Raise the budget or lower the cost per contact.",
        )
    return CampaignBudget(budget, cost, value)


def plan_campaign(
    tables: Tables,
    budget: CampaignBudget,
    campaign: str | None = None,
    seed: int = 0,
    *,
    arm: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The audience (user_id, uplift, expected_profit, segment) and the plan's summary with
    its segment mix: what ``shopmind campaign plan`` writes and prints (the CLI adds the
    file's path), and the console shows."""
    from shopmind.analytics.metrics import currency
    from shopmind.analytics.rfm import rfm_table

    audience, summary = plan(tables, budget, campaign, seed, arm=arm)
    summary["currency"] = currency(tables)  # of the budget, cost, value and profit
    try:
        segments = rfm_table(tables).select("user_id", "segment").execute()
    except Exception:  # no purchases: no RFM segments (as the CLI)
        segments = audience[["user_id"]].assign(segment=None)
    audience = audience.merge(segments, on="user_id", how="left")
    summary["segment_mix"] = segment_mix(audience[["user_id"]], segments)
    return audience, summary


def audience_csv(audience: pd.DataFrame, segment: str | None = None) -> tuple[str, int]:
    """The audience as CSV text (pseudonyms only), optionally one segment; and its rows."""
    rows = audience
    if segment:
        rows = audience[audience["segment"].fillna("(none)") == segment]
    if rows.empty:
        raise ShopmindError(
            "The audience is empty: nobody to export.",
            hint="Raise the budget, pick another segment, or plan from another campaign.",
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIENCE_COLUMNS)
    segments = rows["segment"] if "segment" in rows else pd.Series([None] * len(rows))
    for user, uplift, profit, segment in zip(
        rows["user_id"], rows["uplift"], rows["expected_profit"], segments, strict=True
    ):
        writer.writerow(
            [user, f"{uplift:.6g}", f"{profit:.6g}", "" if pd.isna(segment) else segment]
        )
    return out.getvalue(), len(rows)


def segment_members(con: duckdb.DuckDBPyConnection, segment: str) -> pd.DataFrame:
    """user_id, score (CLV) of an RFM segment, lifecycle or behavioural segment number (the
    ``--segment`` of ``shopmind audience build``)."""
    from shopmind.marketing.audience import _from_segment

    return _from_segment(con, segment)


def segments(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """RFM segments and lifecycle stages with their number of profiled users."""
    rows = con.execute(
        "SELECT rfm_segment, count(*) FROM user_profiles WHERE rfm_segment IS NOT NULL "
        "GROUP BY ALL UNION ALL SELECT lifecycle, count(*) FROM user_profiles "
        "WHERE lifecycle IS NOT NULL GROUP BY ALL ORDER BY 2 DESC"
    ).fetchall()
    return [(str(name), int(n)) for name, n in rows]


def propensity_scores(workspace: Any, tables: Tables) -> pd.DataFrame:
    """user_id, score: every user's calibrated propensity at the model's training cutoff
    (as ``shopmind propensity score``); a ShopmindError without a workspace-mode model."""
    from shopmind.marketing import propensity_scores as scoring

    return scoring.score_users(scoring.load_model(workspace), tables)


def store_audience(
    con: duckdb.DuckDBPyConnection,
    name: str,
    frame: pd.DataFrame,
    source: str,
    min_score: float | None = None,
    top: int | None = None,
) -> dict[str, Any]:
    """Store ``frame`` (user_id, score) as audience ``name`` in ``audience_members`` on a write
    connection (inside the caller's transaction: the service's writer), ranked by score as
    ``shopmind audience build`` ranks, replacing an audience of the same name."""
    from datetime import UTC, datetime

    from shopmind.marketing.audience import AudienceError, _check_name

    _check_name(name)
    frame = frame.dropna(subset=["user_id"]).drop_duplicates("user_id")
    if min_score is not None:
        frame = frame[frame["score"] >= min_score]
    frame = frame.sort_values(["score", "user_id"], ascending=[False, True], na_position="last")
    if top is not None:
        frame = frame.head(top)
    if frame.empty:
        raise AudienceError(
            "The audience is empty: nobody matches.",
            hint="Lower the minimum score, raise the number of people, or pick another source.",
        )
    members = pd.DataFrame(
        {
            "audience": name,
            "user_id": frame["user_id"].astype(str).to_numpy(),
            "rank": range(1, len(frame) + 1),
            "score": pd.to_numeric(frame["score"], errors="coerce").to_numpy(),
            "source": source[:300],
            "created_at": datetime.now(UTC),
        }
    )
    con.execute("DELETE FROM audience_members WHERE audience = ?", [name])
    con.register("_members", members)
    try:
        con.execute("INSERT INTO audience_members SELECT * FROM _members")
    finally:
        con.unregister("_members")
    return {"audience": name, "source": source, "members": len(members)}


def members_csv(rows: list[dict[str, Any]], reveal: bool) -> str:
    """Audience members as the CSV of ``shopmind audience export`` (``--reveal``: with
    original_id, email, phone)."""
    columns = ["rank", "user_id", "score"] + (["original_id", "email", "phone"] if reveal else [])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def campaigns(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Past campaigns: id, arms, users, first send time, conversions; newest first."""
    rows = con.execute(
        "SELECT campaign_id, string_agg(DISTINCT arm, ', ' ORDER BY arm), count(*), "
        "min(sent_ts), sum(converted::INT) FROM campaign_assignments "
        "GROUP BY campaign_id ORDER BY min(sent_ts) DESC"
    ).fetchall()
    keys = ("campaign_id", "arms", "users", "sent", "conversions")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def analyze_campaign(
    con: duckdb.DuckDBPyConnection,
    campaign: str,
    pre_days: int = 30,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """``shopmind abtest analyze --campaign ID --json``: the same rows
    (:func:`shopmind.marketing.past_campaign.abtest_frame`: arm, conversion, revenue and the
    pre-period revenue used by CUPED when it varies) and :func:`shopmind.marketing.abtest.analyze`
    against the campaign's control arm."""
    from shopmind.marketing.abtest import analyze
    from shopmind.marketing.past_campaign import abtest_frame

    if not 0 < alpha < 0.5:
        raise ShopmindError(f"Significance level {alpha:g} is out of range.", hint="Use 0.05.")
    if not 0 < int(pre_days) <= 3650:
        raise ShopmindError("Pre-period days must be between 1 and 3650.", hint="Use 30.")
    frame, past = abtest_frame(con, campaign, pre_days=int(pre_days))
    pre_col = "pre_revenue" if frame["pre_revenue"].nunique() > 1 else None
    result = analyze(frame, "variant", past.control, "converted", "revenue", pre_col, None, alpha)
    result["note"] = f"campaign {past.campaign_id}: outcomes from {past.outcome_source}"
    return dict(result)


__all__ = [
    "analyze_campaign",
    "audience_csv",
    "campaigns",
    "check_budget",
    "members_csv",
    "plan_campaign",
    "propensity_scores",
    "segment_members",
    "segments",
    "store_audience",
]
