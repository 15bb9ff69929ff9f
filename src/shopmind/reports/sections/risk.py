"""Risk: score distribution, precision and recall at review rates on labelled orders, the
most frequent reasons and fraud rings, from the workspace model (``shopmind risk train``).

Everything comes from the risk library the CLI uses: ``score_workspace`` (= ``risk score``),
``order_labels`` (the labels ``risk train`` reads) and ``list_rings`` (= ``risk rings``).
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import pandas as pd

from shopmind.evaluation.review_rates import at_review_rates
from shopmind.reports import charts
from shopmind.reports.fragments import chart, note, percent, table
from shopmind.store import Workspace

TITLE = "Risk"
ANCHOR = "risk"
NOTE = (
    "No workspace risk model yet: run <code>shopmind risk train</code> (orders and the "
    "<code>labels</code> table; docs/risk.md)."
)
TOP_REASONS = 10
TOP_RINGS = 10


def reason_counts(reasons: pd.Series) -> Counter[str]:
    """How many orders name each feature among their reasons (``words = value ...``)."""
    counts: Counter[str] = Counter()
    for text in reasons.dropna():
        counts.update({part.split(" = ", 1)[0].strip() for part in str(text).split("; ") if part})
    return counts


def build(workspace: Workspace) -> str | None:
    from shopmind.risk.workspace import (
        WorkspaceRisk,
        list_rings,
        model_path,
        order_labels,
        score_workspace,
    )

    if not model_path(workspace).exists():
        with workspace.connect(read_only=True) as con:
            row = con.execute("SELECT count(*) FROM orders").fetchone()
        if not (row and row[0]):
            return note(
                "No orders in the workspace: risk control scores orders (and payments), so "
                "it does not apply to this data (docs/risk.md)."
            )
        return None
    model = WorkspaceRisk.load(workspace).model
    scored, _ = score_workspace(workspace)
    with workspace.connect(read_only=True) as con:
        labels = order_labels(con)[["order_id", "label"]]
    review_at, block_at = model.thresholds_
    decisions = scored["decision"].value_counts()
    parts = [
        f"<p class='lead'>{len(scored):,} orders scored by the workspace model "
        f"({html.escape(str(model.mode_))}): {int(decisions.get('review', 0)):,} to review "
        f"(score &ge; {review_at:g}) and {int(decisions.get('block', 0)):,} to block "
        f"(score &ge; {block_at:g}).</p>",
        chart(
            charts.histogram(scored["risk_score"].tolist(), "risk score (0-100)", "orders"),
            "risk_scores",
        ),
        table(
            ["decision", "orders", "share"],
            [
                [d, f"{int(decisions.get(d, 0)):,}", percent(decisions.get(d, 0) / len(scored))]
                for d in ("allow", "review", "block")
            ],
        ),
        _review_rates(scored, labels, model),
        _validation(model.report_),
        _reasons(scored),
        _rings(list_rings(workspace)),
    ]
    return "".join(parts)


def _review_rates(scored: pd.DataFrame, labels: pd.DataFrame, model: Any) -> str:
    """Held-out figures only: the validation rows saved by ``risk train`` (supervised and
    blended models), or every labelled order for a model fitted without labels."""
    title = "<h3>Precision and recall at review rates</h3>"
    validation = model.report_.get("validation") or {}
    if "review_rates" in validation:
        rates, rows_total = validation["review_rates"], int(validation.get("rows", 0))
        bad = int(validation.get("positives", 0))
        intro = (
            f"<p>On the {rows_total:,} held-out validation orders "
            f"({html.escape(str(validation.get('split', '')))}): the most suspicious share of "
            "them reviewed.</p>"
        )
    elif model.mode_ == "unsupervised":
        known = scored.merge(labels, on="order_id", how="inner")
        known = known[known["label"].notna()].sort_values("order_id", kind="stable")
        if known.empty or known["label"].nunique() < 2:
            return title + note(
                "No labelled orders of both kinds (fraud labels in the <code>labels</code> "
                "table or review decisions)."
            )
        y = known["label"].to_numpy(int)
        rates = at_review_rates(known["risk_score"].to_numpy(float), y)
        bad = int(y.sum())
        intro = (
            f"<p>On {len(known):,} labelled orders ({bad:,} fraud; the model was fitted "
            "without labels, so they are out of sample): the most suspicious share reviewed.</p>"
        )
    else:
        return title + note(
            "This model was trained before held-out review rates were saved: run "
            "<code>shopmind risk train</code> again."
        )
    rows = [
        [
            percent(r["review_rate"]),
            f"{r['reviewed']:,}",
            f"{r['threshold']:.1f}",
            f"{r['bad_caught']:,}",
            percent(r["precision"]),
            percent(r["recall"]),
        ]
        for r in rates
    ]
    header = ["review rate", "orders reviewed", "lowest score reviewed", "fraud caught"]
    return title + intro + table([*header, "precision", "recall"], rows)


def _validation(report: dict[str, Any]) -> str:
    validation = report.get("validation")
    if not validation:
        return ""
    rows = [
        [
            name.replace("_", " "),
            f"{m['roc_auc']:.3f}",
            f"{m['average_precision']:.3f}",
            percent(m.get("recall_at_1pct_fpr")),
        ]
        for name, m in validation.items()
        if isinstance(m, dict) and "roc_auc" in m
    ]
    return (
        f"<h3>Held-out validation ({html.escape(str(validation.get('split', '')))}, "
        f"{int(validation.get('rows', 0)):,} orders)</h3>"
        + table(["model", "ROC-AUC", "average precision", "recall at 1% false positives"], rows)
    )


def _reasons(scored: pd.DataFrame) -> str:
    if "reasons" not in scored:
        return ""
    flagged = scored[scored["decision"] != "allow"]
    which = "review or block orders"
    if flagged.empty:  # nothing crosses the thresholds: the riskiest 1% instead
        flagged = scored.nlargest(max(1, len(scored) // 100), "risk_score")
        which = "the riskiest 1% of orders (none crosses the review threshold)"
    counts = reason_counts(flagged["reasons"])
    rows = [
        [reason, f"{n:,}", percent(n / len(flagged))]
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
    ]
    return (
        f"<h3>Top reasons</h3><p>Features named among the reasons of {len(flagged):,} "
        f"{html.escape(which)}.</p>" + table(["reason", "orders", "share"], rows)
    )


def _rings(result: dict[str, Any]) -> str:
    rings = result["rings"]
    head = "<h3>Fraud rings</h3>"
    if not rings:
        return head + note(
            "No rings: no three or more accounts share a device, IP, payment or address pseudonym."
        )
    members = sum(r["size"] for r in rings)
    lead = (
        f"<p>{len(rings):,} rings of 3 or more accounts linked by shared pseudonyms "
        f"({members:,} accounts; <code>shopmind risk rings</code>).</p>"
    )
    recovery = result.get("recovery")
    if recovery:
        lead += (
            f"<p>Against the fraud labels: {percent(recovery['precision'])} of ring members "
            f"are labelled fraud (precision) and {percent(recovery['recall'])} of "
            f"{recovery['true_members']:,} fraud accounts are in a ring (recall).</p>"
        )
    rows = [
        [
            r["ring_id"],
            f"{r['size']:,}",
            f"{r['orders']:,}",
            ", ".join(f"{k} {v}" for k, v in r["shared_values"].items() if v),
            percent(r["known_bad_share"], 0),
        ]
        for r in rings[:TOP_RINGS]
    ]
    shown = "" if len(rings) <= TOP_RINGS else note(f"The largest {TOP_RINGS} shown.")
    return (
        head
        + lead
        + table(["ring", "accounts", "orders", "shared values", "labelled fraud"], rows)
        + shown
    )
