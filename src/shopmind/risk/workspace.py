"""Workspace mode: order risk from the canonical tables and the ``labels`` table.

Features come from :func:`shopmind.features.risk.order_features` (Ibis, decision time) plus
the ring features of :mod:`shopmind.risk.rings`. Labels: an order's ``fraud`` label (a
review's decision first), else its account's. A bad label counts as *known* to the ring
features ``label_delay_days`` after the labelled order (chargebacks arrive late); review
decisions are known when they are made. Validation is time-ordered (the newest orders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.features.risk import ORDER_FEATURE_LABELS, link_keys, order_features
from shopmind.models.base import read_pickle, write_pickle
from shopmind.models.risk import DETECTORS, RiskConfig, RiskModel
from shopmind.risk.rings import MAX_LINK_ACCOUNTS, hub_values, ring_features
from shopmind.store import Workspace

FORMAT = "shopmind-risk-workspace-1"
TRAIN_COMMAND = "shopmind risk train"
#: Columns of the feature frame that are not model inputs.
ID_COLUMNS = ("order_id", "user_id", "ts", "_s")
REALTIME_DETECTORS = ("ecod", "copod")
BAD = ("1", "1.0", "true", "yes", "fraud", "bad")


def model_path(workspace: Workspace) -> Path:
    return workspace.models_dir / "risk" / "workspace.pkl"


@dataclass
class WorkspaceRisk:
    """The trained model and what scoring needs to rebuild the same features."""

    model: RiskModel
    links: dict[str, str]
    label_delay_days: float
    max_link_accounts: int
    hubs: frozenset[str] = field(default_factory=frozenset)

    def save(self, path: Path) -> Path:
        payload = {
            "format": FORMAT,
            "model_config": self.model.config.model_dump(),
            "model_state": self.model.learned_state(),
            "links": self.links,
            "label_delay_days": self.label_delay_days,
            "max_link_accounts": self.max_link_accounts,
            "hubs": self.hubs,
        }
        return write_pickle(path, payload)

    @classmethod
    def load(cls, workspace: Workspace) -> WorkspaceRisk:
        path = model_path(workspace)
        payload = read_pickle(path, FORMAT, "workspace risk", TRAIN_COMMAND)
        model = RiskModel.from_state(payload["model_config"], payload["model_state"])
        return cls(
            model,
            payload["links"],
            payload["label_delay_days"],
            payload["max_link_accounts"],
            payload["hubs"],
        )


# ---------------------------------------------------------------------------------------
# reading the workspace
# ---------------------------------------------------------------------------------------


def _require_orders(con: Any) -> None:
    if con.execute("SELECT count(*) FROM orders").fetchone()[0] == 0:
        raise ShopmindError(
            "The workspace has no orders to score.",
            hint="Load orders (`shopmind ingest FILE --format NAME`, `shopmind simulate`) or "
            "use tabular mode: `shopmind risk train --data FILE --label COLUMN`.",
        )


def link_frame(con: Any, links: dict[str, str]) -> pd.DataFrame:
    """order_id, user_id, _s (epoch seconds) and one column per link kind."""
    picks = "".join(
        f", json_extract_string(attributes, '$.{key}') AS {kind}" for kind, key in links.items()
    )
    return con.execute(
        f"SELECT order_id, user_id, epoch(ts) AS _s{picks} FROM orders ORDER BY ts, order_id"
    ).df()


def _has_table(con: Any, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found[0])


def order_labels(con: Any) -> pd.DataFrame:
    """order_id, user_id, s (order time), label (0/1 or NaN) and decided (review time)."""
    reviews = (
        "SELECT entity_id, status, decided_at, entity FROM risk_reviews"
        if _has_table(con, "risk_reviews")
        else "SELECT NULL::VARCHAR AS entity_id, NULL::VARCHAR AS status, "
        "NULL::TIMESTAMPTZ AS decided_at, NULL::VARCHAR AS entity WHERE false"
    )
    return con.execute(
        f"""
        WITH o AS (SELECT order_id, user_id, epoch(ts) AS s FROM orders),
        by_order AS (
            SELECT subject_id AS order_id,
                   max(CASE WHEN lower(value) IN {BAD} THEN 1 ELSE 0 END) AS label
            FROM labels WHERE subject_type = 'order' AND name = 'fraud' AND source <> 'review'
            GROUP BY ALL),
        by_review AS (
            SELECT r.entity_id AS order_id,
                   CASE WHEN r.status = 'confirmed' THEN 1 ELSE 0 END AS label,
                   epoch(r.decided_at) AS decided
            FROM ({reviews}) r WHERE r.status IN ('confirmed', 'cleared')
              AND r.entity = 'order'),
        by_user AS (
            SELECT subject_id AS user_id,
                   max(CASE WHEN lower(value) IN {BAD} THEN 1 ELSE 0 END) AS label
            FROM labels WHERE subject_type = 'user' AND name = 'fraud'
            GROUP BY ALL)
        SELECT o.order_id, o.user_id, o.s,
               coalesce(r.label, b.label, u.label) AS label,
               r.decided AS decided
        FROM o LEFT JOIN by_order b USING (order_id)
               LEFT JOIN (SELECT order_id, arg_max(label, decided) AS label, max(decided)
                          AS decided FROM by_review GROUP BY ALL) r USING (order_id)
               LEFT JOIN by_user u USING (user_id)
        """
    ).df()


def known_bad_accounts(labels: pd.DataFrame, delay_days: float) -> dict[str, float]:
    """Account -> the earliest time one of its bad labels was known."""
    bad = labels[labels["label"] == 1]
    if bad.empty:
        return {}
    known = np.where(bad["decided"].notna(), bad["decided"], bad["s"] + delay_days * 86_400)
    frame = pd.DataFrame({"user_id": bad["user_id"].to_numpy(), "known": known})
    return {str(k): float(v) for k, v in frame.groupby("user_id")["known"].min().items()}


def feature_frame(
    workspace: Workspace,
    links: dict[str, str] | None = None,
    label_delay_days: float = 14.0,
    max_link_accounts: int = MAX_LINK_ACCOUNTS,
    hubs: frozenset[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str], frozenset[str]]:
    """Every order's decision-time features with its label (NaN when unlabelled)."""
    from shopmind.features.tables import duckdb_tables

    with workspace.connect(read_only=True) as con:
        _require_orders(con)
        links = link_keys(con) if links is None else links
        linked = link_frame(con, links)
        labels = order_labels(con)
    with duckdb_tables(workspace) as tables:
        features = order_features(tables, links).execute()
    hubs = hub_values(linked, max_link_accounts) if hubs is None else hubs
    rings = ring_features(
        linked, known_bad_accounts(labels, label_delay_days), hubs, max_link_accounts
    )
    frame = features.merge(rings, on="order_id", how="left").merge(
        labels[["order_id", "label"]], on="order_id", how="left"
    )
    frame["_s"] = (frame["ts"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    frame = frame.sort_values(["_s", "order_id"], kind="stable").reset_index(drop=True)
    return frame, links, hubs


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    drop = [*ID_COLUMNS, "label", "seconds_since_signup"]
    return frame.drop(columns=[c for c in drop if c in frame.columns]).astype(float)


def train_workspace(
    workspace: Workspace,
    config: RiskConfig | None = None,
    label_delay_days: float = 14.0,
    max_link_accounts: int = MAX_LINK_ACCOUNTS,
) -> tuple[Path, dict[str, Any]]:
    frame, links, hubs = feature_frame(
        workspace, label_delay_days=label_delay_days, max_link_accounts=max_link_accounts
    )
    labelled = frame["label"].notna()
    config = config or RiskConfig()
    if labelled.any() and config.mode != "unsupervised":
        data = frame[labelled]
        y = data["label"].to_numpy(dtype=int)
        if y.min() == y.max():
            raise ShopmindError(
                f"Every labelled order is {'bad' if y[0] else 'good'}: the fraud labels have "
                "one class only.",
                hint="Add labels of both kinds (reviews: `shopmind risk review confirm/clear`) "
                "or train with --mode unsupervised.",
            )
    else:
        data, y = frame, None
    if config.detectors == DETECTORS:
        # Isolation Forest costs ~10 ms per single row; the real-time path keeps ECOD+COPOD
        config = config.model_copy(update={"detectors": REALTIME_DETECTORS})
    model = RiskModel(config).fit(
        model_inputs(data), y, data["_s"].to_numpy(), ORDER_FEATURE_LABELS
    )
    risk = WorkspaceRisk(model, links, label_delay_days, max_link_accounts, hubs)
    path = risk.save(model_path(workspace))
    report = {
        **model.report_,
        "orders": len(frame),
        "labelled_orders": int(labelled.sum()),
        "links": links,
        "label_delay_days": label_delay_days,
    }
    return path, report


def score_workspace(
    workspace: Workspace,
    since: str | None = None,
    queue: bool = False,
    reasons: int = 3,
    rules: Path | None = None,
) -> tuple[pd.DataFrame, int]:
    """Scores of every order (at or after ``since``); ``queue`` puts review and block
    decisions into the review queue. Returns (scores, orders queued)."""
    risk = WorkspaceRisk.load(workspace)
    frame, _, _ = feature_frame(
        workspace, risk.links, risk.label_delay_days, risk.max_link_accounts, risk.hubs
    )
    if since:
        at = pd.Timestamp(since)
        if at.tzinfo is None:
            raise ShopmindError(
                f"--since {since} has no UTC offset.", hint="Write e.g. 2025-03-01T00:00:00+00:00."
            )
        frame = frame[frame["ts"] >= at].reset_index(drop=True)
    x = model_inputs(frame)
    scores = risk.model.score(x) if len(frame) else np.zeros(0)
    out = pd.DataFrame(
        {
            "order_id": frame["order_id"].to_numpy(),
            "user_id": frame["user_id"].to_numpy(),
            "ts": frame["ts"].to_numpy(),
            "risk_score": np.round(scores, 4),
            "decision": risk.model.decide(scores) if len(frame) else [],
        }
    )
    if reasons and len(frame):
        out["reasons"] = ["; ".join(r["text"] for r in rs) for rs in risk.model.reasons(x, reasons)]
    if rules is not None:
        from shopmind.risk.rules import load_rules

        ruleset = load_rules(rules, set(x.columns) | set(ORDER_FEATURE_LABELS))
        full = x.reindex(columns=sorted(set(x.columns) | set(ORDER_FEATURE_LABELS)))
        decision, rule = ruleset.apply(full.assign(score=scores), out["decision"].to_numpy())
        out["decision"] = decision
        out["rule"] = rule
    queued = 0
    if queue and len(out):
        from shopmind.risk.review import enqueue

        flagged = out[out["decision"] != "allow"]
        queued = enqueue(workspace, flagged)
    return out, queued


def list_rings(
    workspace: Workspace, min_size: int = 3, max_link_accounts: int = MAX_LINK_ACCOUNTS
) -> dict[str, Any]:
    """Rings over the whole history and, where accounts carry fraud labels, how well ring
    membership recovers them (precision and recall of members)."""
    from shopmind.risk.rings import find_rings, ring_recovery

    with workspace.connect(read_only=True) as con:
        _require_orders(con)
        links = link_keys(con)
        linked = link_frame(con, links)
        labels = order_labels(con)
    bad_accounts = set(labels.loc[labels["label"] == 1, "user_id"].dropna())
    rings = find_rings(linked, bad_accounts, min_size, max_link_accounts)
    result: dict[str, Any] = {"links": links, "rings": rings}
    if bad_accounts:
        result["recovery"] = ring_recovery(rings, bad_accounts)
    return result
