"""A past campaign from a file: one row per contacted (or held-out) user.

Columns: arm (required), user id (else the record number: ``row-N``); campaign id, send
time, cost per contact and the outcomes ``converted`` (0/1, yes/no, true/false) and
``revenue`` when the file has them. Options fill
what the file lacks: ``--campaign-id`` (else the file name), ``--sent-at`` (one send time for
every row, read in ``--timezone``, default UTC) and ``--control`` (the control arm, stored in
``campaigns``). Every other column is a pre-period covariate: kept, protected like any extra
column, in ``campaign_assignments.attributes`` (uplift features when the shop has no events).
Without outcome columns, outcomes are read from purchase events after the send time.

Hillstrom (MineThatData 2008) loads as is::

    shopmind ingest hillstrom.csv --format campaign --map arm=segment \\
        --map converted=conversion --map revenue=spend --sent-at 2008-03-01 --control "No E-Mail"
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from shopmind.errors import IngestError
from shopmind.ingest.context import Context
from shopmind.ingest.extract import quote_literal
from shopmind.ingest.formats.base import Field, Format
from shopmind.ingest.sqlparts import (
    first_problem,
    number_problem,
    number_value,
    required_text_problem,
    text,
    ts_problem,
    ts_value,
)

_TRUE = ("1", "1.0", "true", "t", "yes", "y")


_FALSE = ("0", "0.0", "false", "f", "no", "n")
MAX_MONEY = 1e9


def _flag(col: str) -> str:
    v = f"lower(trim(CAST({col} AS VARCHAR)))"
    yes, no = (", ".join(quote_literal(s) for s in group) for group in (_TRUE, _FALSE))
    return f"CASE WHEN {v} IN ({yes}) THEN true WHEN {v} IN ({no}) THEN false END"


def _flag_problem(col: str, name: str) -> str:
    raw = f"trim(CAST({col} AS VARCHAR))"
    return (
        f"CASE WHEN {col} IS NOT NULL AND {raw} <> '' AND converted IS NULL "
        f"THEN '{name} ''' || left({raw}, 40) || ''' is not 0/1, yes/no or true/false' END"
    )


def _sent_at_literal(ctx: Context, value: str) -> str:
    """``--sent-at`` as a TIMESTAMPTZ literal; naive values read in --timezone (else UTC)."""
    zone = ctx.options.timezone or "UTC"
    try:
        when = datetime.fromisoformat(value.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        raise IngestError(
            f"--sent-at {value!r} is not a date-time (or --timezone {zone!r} is unknown).",
            file=str(ctx.path),
            hint="Write it as ISO 8601, e.g. --sent-at 2008-03-01 or 2008-03-01T09:00+00:00.",
        ) from None
    return f"TIMESTAMPTZ {quote_literal(when.isoformat())}"


class Campaign(Format):
    name = "campaign"
    description = "past campaign: user, arm, campaign id, send time, cost, outcomes, covariates"
    fields = (
        Field("user_id", ("user_id", "customer_id", "customer", "user", "id")),
        Field("arm", ("arm", "variant", "group", "treatment", "segment"), required=True),
        Field("campaign_id", ("campaign_id", "campaign")),
        Field("sent_ts", ("sent_ts", "sent_at", "sent", "assigned_at", "send_time")),
        Field("cost", ("cost", "contact_cost")),
        Field("converted", ("converted", "conversion", "purchased")),
        Field("revenue", ("revenue", "spend", "sales")),
    )
    primary_key = "campaign_id, user_id"
    target = "campaign_assignments"
    timezone = "UTC"
    currency = None

    def _campaign_id(self, ctx: Context) -> str:
        given = ctx.options.format_options.get("campaign_id")
        fallback = quote_literal(given or ctx.path.name.split(".")[0])
        return f"coalesce({text(ctx.col('campaign_id'))}, {fallback})"

    def _sent(self, ctx: Context) -> tuple[str, str]:
        """(parsed send time, its problem) from the column or ``--sent-at``."""
        zone = ctx.options.timezone or self.timezone
        if ctx.has("sent_ts"):
            col, kind = ctx.col("sent_ts"), ctx.col_type("sent_ts")
            problem = ts_problem(
                "sent_raw", "sent_ts", "sent_ts", kind, zone, ctx.formats_of("sent_ts")
            )
            return ts_value(col, kind, zone, ctx.formats_of("sent_ts")), problem
        given = ctx.options.format_options.get("sent_at")
        if given is None:
            raise IngestError(
                f"{ctx.path.name} has no send-time column and no --sent-at was given.",
                file=str(ctx.path),
                hint="Pass --sent-at 2008-03-01 (the send day) or --map sent_ts=COLUMN.",
            )
        return _sent_at_literal(ctx, given), "NULL"

    def _attributes(self, ctx: Context) -> str:
        """JSON of the covariates (columns no field uses), each protected like extra columns."""
        used = set(ctx.resolved.values())
        parts = []
        for column in ctx.extracted.columns:
            if column.startswith("_") or column in used:
                continue
            expr = ctx.protected(column)
            if expr is not None:
                parts.append(f"{quote_literal(column)}, CAST({expr} AS VARCHAR)")
        return f"json_object({', '.join(parts)})" if parts else "NULL::JSON"

    def staged_sql(self, ctx: Context) -> str:
        sent, sent_problem = self._sent(ctx)
        decimal = ctx.options.decimal
        money = {
            name: number_value(ctx.col(name), ctx.col_type(name), decimal)
            for name in ("cost", "revenue")
        }
        # a file without ids (Hillstrom) numbers its customers by record: 'row-1', 'row-2'...
        raw_user = ctx.id_text("user_id") if ctx.has("user_id") else "'row-' || _row"
        return f"""
        SELECT _row, campaign_id || '|' || {ctx.user_id("user_id")} AS _key, campaign_id,
               user_id, arm, sent_ts, converted, revenue, cost, attributes,
               {
            first_problem(
                required_text_problem("user_id", "user_id"),
                required_text_problem("arm", "arm"),
                sent_problem,
                _flag_problem("converted_raw", "converted"),
                number_problem("revenue_raw", "revenue", parsed="revenue", low=0, high=MAX_MONEY),
                number_problem("cost_raw", "cost", parsed="cost", low=0, high=MAX_MONEY),
            )
        } AS _reason
        FROM (
            SELECT _row, {self._campaign_id(ctx)} AS campaign_id, {raw_user} AS user_id,
                   {text(ctx.col("arm"))} AS arm,
                   {ctx.col("sent_ts")} AS sent_raw, {sent} AS sent_ts,
                   {ctx.col("converted")} AS converted_raw, {_flag(ctx.col("converted"))}
                   AS converted,
                   {ctx.col("revenue")} AS revenue_raw, {money["revenue"]} AS revenue,
                   {ctx.col("cost")} AS cost_raw, {money["cost"]} AS cost,
                   {self._attributes(ctx)} AS attributes
            FROM _raw
        )
        """

    def existing_keys_sql(self, ctx: Context) -> str:
        return "SELECT campaign_id || '|' || user_id FROM campaign_assignments"

    def load(self, con: duckdb.DuckDBPyConnection, ctx: Context) -> dict[str, int]:
        control = ctx.options.format_options.get("control")
        if control is not None:
            arms = {str(r[0]) for r in con.execute("SELECT DISTINCT arm FROM _fresh").fetchall()}
            if control not in arms:
                raise IngestError(
                    f"--control {control!r} is not an arm of {ctx.path.name}.",
                    file=str(ctx.path),
                    hint=f"Arms found: {', '.join(sorted(arms))}.",
                )
        con.execute(
            "INSERT INTO campaign_assignments (campaign_id, user_id, arm, sent_ts, converted, "
            "revenue, cost, attributes) SELECT campaign_id, user_id, arm, sent_ts, converted, "
            "revenue, cost, attributes FROM _fresh"
        )
        con.execute(
            """
            INSERT OR REPLACE INTO campaigns
            SELECT campaign_id, coalesce(?, (SELECT control_arm FROM campaigns c
                                             WHERE c.campaign_id = f.campaign_id)),
                   'file', ?, now()
            FROM (SELECT DISTINCT campaign_id FROM _fresh) f
            """,
            [control, ctx.ingestion_id],
        )
        before = int(con.execute("SELECT count(*) FROM users").fetchone()[0])  # type: ignore[index]
        con.execute(
            f"""
            INSERT INTO users (user_id, signup_ts, country, gender, age, attributes, ingestion_id)
            SELECT DISTINCT user_id, NULL, NULL, NULL, NULL, NULL, {quote_literal(ctx.ingestion_id)}
            FROM _fresh f WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = f.user_id)
            """
        )
        after = int(con.execute("SELECT count(*) FROM users").fetchone()[0])  # type: ignore[index]
        rows = int(con.execute("SELECT count(*) FROM _fresh").fetchone()[0])  # type: ignore[index]
        campaigns = con.execute("SELECT count(DISTINCT campaign_id) FROM _fresh").fetchone()
        return {
            "campaign_assignments": rows,
            "campaigns": int(campaigns[0]) if campaigns else 0,
            "users": after - before,
        }


__all__ = ["Campaign"]
