"""A past campaign as analyses see it, whoever wrote it (the simulator or ``ingest --format
campaign``): its arms and control, one row per user with outcomes, and its covariates.

Outcomes come from the ``converted`` / ``revenue`` columns when the campaign has them, else
from purchase events in ``window_days`` after each user's send time (revenue = quantity x
price). Covariates are the pre-period columns kept at load (``attributes``); outcome-like
names (visit, conversion, spend, ...) are kept for analysis but never used as features.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.marketing.leakage import OUTCOME_LIKE, post_treatment_columns

DEFAULT_WINDOW_DAYS = 14


@dataclass(frozen=True)
class PastCampaign:
    """One campaign: ``frame`` has user_id, arm, converted (0/1), revenue, cost and the
    covariate columns; ``covariates`` are those usable as features, ``excluded`` the others
    with the reason (named like an outcome, or :mod:`shopmind.marketing.leakage`)."""

    campaign_id: str
    control: str
    arms: list[str]
    sent_ts: datetime
    frame: pd.DataFrame
    covariates: list[str] = field(default_factory=list)
    outcome_source: str = "columns"
    excluded: dict[str, str] = field(default_factory=dict)

    def treatments(self, arm: str | None = None) -> list[str]:
        """The treatment arm(s) to compare with control: ``arm`` (checked) or all others."""
        others = [a for a in self.arms if a != self.control]
        if arm is None:
            return others
        if arm not in others:
            raise ShopmindError(
                f"Arm '{arm}' is not a treatment arm of campaign '{self.campaign_id}'.",
                hint=f"Treatment arms: {', '.join(others)} (control: {self.control}).",
            )
        return [arm]


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        [table, column],
    ).fetchone()
    return bool(row and row[0])


def campaign_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Campaign ids, latest send first."""
    rows = con.execute(
        "SELECT campaign_id FROM campaign_assignments GROUP BY campaign_id ORDER BY max(sent_ts) "
        "DESC, campaign_id"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _control(con: duckdb.DuckDBPyConnection, campaign_id: str, arms: list[str]) -> str:
    stored = None
    if _has_column(con, "campaigns", "control_arm"):
        row = con.execute(
            "SELECT control_arm FROM campaigns WHERE campaign_id = ?", [campaign_id]
        ).fetchone()
        stored = row[0] if row else None
    if stored is not None:
        return str(stored)
    if "control" in arms:
        return "control"
    raise ShopmindError(
        f"Campaign '{campaign_id}' has no arm named 'control' and no control arm was stored.",
        hint=f"Name it with --control (arms: {', '.join(arms)}), or reload the file with "
        "`shopmind ingest FILE --format campaign --control ARM`.",
    )


def _covariates(attributes: pd.Series) -> pd.DataFrame:
    """The JSON attributes as columns; columns whose values all parse as numbers are numbers."""
    records = [json.loads(a) if isinstance(a, str) and a else {} for a in attributes]
    frame = pd.DataFrame.from_records(records, index=attributes.index)
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.notna().sum() == frame[column].notna().sum():
            frame[column] = numbers
    return frame


def _event_outcomes(
    con: duckdb.DuckDBPyConnection, campaign_id: str, window_days: int
) -> pd.DataFrame:
    rows = con.execute(
        f"""
        SELECT a.user_id, (count(e.user_id) > 0)::INT AS converted,
               coalesce(sum(coalesce(e.quantity, 1) * coalesce(e.price, 0)), 0) AS revenue
        FROM campaign_assignments a
        LEFT JOIN events e ON e.user_id = a.user_id AND e.event_type = 'purchase'
             AND e.ts >= a.sent_ts AND e.ts < a.sent_ts + INTERVAL {int(window_days)} DAY
        WHERE a.campaign_id = ?
        GROUP BY a.user_id
        """,
        [campaign_id],
    ).fetchall()
    return pd.DataFrame(rows, columns=["user_id", "converted", "revenue"])


def load_campaign(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str | None = None,
    *,
    control: str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> PastCampaign:
    """The campaign ``campaign_id`` (default: the latest sent) with outcomes and covariates."""
    known = campaign_ids(con)
    if not known:
        raise ShopmindError(
            "No past campaign in the workspace.",
            hint="Load one with `shopmind ingest FILE --format campaign --sent-at DATE "
            "--control ARM` (docs/marketing.md), or run `shopmind simulate`.",
        )
    campaign_id = campaign_id or known[0]
    if campaign_id not in known:
        raise ShopmindError(f"No campaign '{campaign_id}'.", hint=f"Known: {', '.join(known)}.")
    extra = [c for c in ("cost", "attributes") if _has_column(con, "campaign_assignments", c)]
    columns = ", ".join(["user_id", "arm", "sent_ts", "converted", "revenue", *extra])
    result = con.execute(
        f"SELECT {columns} FROM campaign_assignments WHERE campaign_id = ? ORDER BY user_id",
        [campaign_id],
    )
    names = [d[0] for d in result.description or []]
    frame = pd.DataFrame(result.fetchall(), columns=names, dtype=object)
    frame = frame.drop_duplicates("user_id").reset_index(drop=True)
    arms = sorted(set(frame["arm"].astype(str)))
    control = control or _control(con, campaign_id, arms)
    if control not in arms:
        raise ShopmindError(
            f"Control '{control}' is not an arm of campaign '{campaign_id}'.",
            hint=f"Arms: {', '.join(arms)}.",
        )
    if len(arms) < 2:
        raise ShopmindError(
            f"Campaign '{campaign_id}' has one arm only ({arms[0]}): nothing to compare.",
            hint="A randomised campaign needs a control arm and at least one treatment arm.",
        )
    source = "columns"
    if frame["converted"].isna().all():
        outcomes = _event_outcomes(con, campaign_id, window_days)
        frame = frame.drop(columns=["converted", "revenue"]).merge(outcomes, on="user_id")
        source = f"purchase events within {window_days} days of sending"
    frame["converted"] = frame["converted"].fillna(False).astype(int)
    frame["revenue"] = pd.to_numeric(frame["revenue"]).fillna(0.0).astype(float)
    frame["cost"] = pd.to_numeric(frame.get("cost", pd.Series(index=frame.index, dtype=float)))
    frame[["user_id", "arm"]] = frame[["user_id", "arm"]].astype(str)
    covariates: list[str] = []
    excluded: dict[str, str] = {}
    if "attributes" in frame.columns:
        extra_frame = _covariates(frame.pop("attributes"))
        extra_frame = extra_frame.drop(
            columns=[c for c in extra_frame.columns if c in frame.columns]
        )
        frame = pd.concat([frame, extra_frame], axis=1)
        excluded = post_treatment_columns(
            frame, list(extra_frame.columns), frame["converted"], frame["arm"] != control
        )
        covariates = [c for c in extra_frame.columns if c not in excluded]
    sent = pd.Timestamp(frame["sent_ts"].min()).to_pydatetime()
    return PastCampaign(campaign_id, control, arms, sent, frame, covariates, source, excluded)


def abtest_frame(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    *,
    pre_days: int = 30,
    arm: str | None = None,
    control: str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> tuple[pd.DataFrame, PastCampaign]:
    """Rows for ``abtest analyze``: variant, converted, revenue, pre_revenue (purchases in the
    ``pre_days`` before sending) and every covariate; one treatment ``arm`` vs control when
    given."""
    past = load_campaign(con, campaign_id, control=control, window_days=window_days)
    pre_rows = con.execute(
        f"""
        SELECT a.user_id, coalesce(sum(coalesce(e.quantity, 1) * e.price), 0) AS pre_revenue
        FROM campaign_assignments a
        JOIN events e ON e.user_id = a.user_id AND e.event_type = 'purchase'
             AND e.ts < a.sent_ts AND e.ts >= a.sent_ts - INTERVAL {int(pre_days)} DAY
        WHERE a.campaign_id = ?
        GROUP BY a.user_id
        """,
        [campaign_id],
    ).fetchall()  # (DuckDB's .df() of an empty result warns under pandas 3)
    pre = pd.DataFrame(pre_rows, columns=["user_id", "pre_revenue"], dtype=object)
    frame = past.frame.merge(pre, on="user_id", how="left")
    frame["pre_revenue"] = pd.to_numeric(frame["pre_revenue"]).fillna(0.0)
    frame = frame.rename(columns={"arm": "variant"})
    if arm is not None:
        keep = [*past.treatments(arm), past.control]
        frame = frame[frame["variant"].isin(keep)].reset_index(drop=True)
    return frame, past


__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "OUTCOME_LIKE",
    "PastCampaign",
    "abtest_frame",
    "campaign_ids",
    "load_campaign",
]
