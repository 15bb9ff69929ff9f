"""Assistant: the intent model's validation figures as ``shopmind assistant train`` saved them
(accuracy, per intent and most-confused pairs when the saved report has them, the
out-of-scope trade-off curve) and the automation rate of the stored conversations."""

from __future__ import annotations

import html
from typing import Any

from shopmind.reports import charts
from shopmind.reports.fragments import chart, note, percent, table
from shopmind.store import Workspace

TITLE = "Customer-service assistant"
ANCHOR = "assistant"
NOTE = (
    "No assistant model yet: run <code>shopmind assistant train --data FILE --text-col text "
    "--label-col intent [--oos-label L]</code> (or without --data: the workspace's tickets)."
)
#: Thresholds listed under the trade-off chart.
CURVE_TABLE = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
TOP_PAIRS = 10


def build(workspace: Workspace) -> str | None:
    from shopmind.assistant.engine import intent_model_path
    from shopmind.assistant.training import summary
    from shopmind.models.intent import IntentModel

    path = intent_model_path(workspace)
    if not path.exists():
        return None
    model = IntentModel.load(path)
    facts = summary(model, path)  # what `assistant train --json` prints
    languages = ", ".join(f"{k} {v:,}" for k, v in sorted(facts["languages"].items()))
    lead = (
        f"<p class='lead'>Intent model trained on {facts['rows']:,} messages, "
        f"{facts['intents']:,} intents ({html.escape(languages)}; encoders "
        f"{html.escape(', '.join(facts['encoders']) or 'none (TF-IDF only)')}): accuracy "
        f"<b>{percent(facts['validation_accuracy'])}</b> on {facts['validation_rows']:,} "
        f"held-out validation messages.</p>"
    )
    report: dict[str, Any] = dict(model.report_)
    curve = report.get("threshold_curve")
    return (
        lead
        + _per_intent(report)
        + _confused(report)
        + _out_of_scope(facts, curve if isinstance(curve, list) else [])
        + _automation(workspace)
    )


def _per_intent(report: dict[str, Any]) -> str:
    head = "<h3>Accuracy per intent (validation)</h3>"
    per_intent = report.get("per_intent")
    if not per_intent:
        return head + note(
            "Not in the saved training report: it keeps the overall validation accuracy only."
        )
    rows = sorted(per_intent.items(), key=lambda kv: (kv[1]["accuracy"], kv[0]))
    return head + table(
        ["intent", "validation messages", "accuracy"],
        [[k, f"{v['rows']:,}", percent(v["accuracy"])] for k, v in rows],
    )


def _confused(report: dict[str, Any]) -> str:
    head = "<h3>Most-confused pairs (validation)</h3>"
    pairs = report.get("confused_pairs")
    if pairs is None:
        return head + note("Not in the saved training report.")
    if not pairs:
        return head + note("No validation message was given a wrong intent.")
    top = sorted(pairs, key=lambda p: (-p["count"], p["intent"], p["predicted"]))[:TOP_PAIRS]
    return head + table(
        ["intent", "taken for", "messages"],
        [[p["intent"], p["predicted"], f"{p['count']:,}"] for p in top],
    )


def _out_of_scope(facts: dict[str, Any], curve: list[dict[str, float]]) -> str:
    head = "<h3>Out of scope: the trade-off</h3>"
    oos = facts["out_of_scope"]
    if not curve or "threshold" not in oos:
        return head + note(
            "Trained without <code>--oos-label</code>: every message gets an intent, none is "
            "judged out of scope."
        )
    text = (
        f"<p>A message is judged out of scope ({html.escape(str(facts['oos_label']))}) when "
        f"its top in-scope confidence is below the threshold. Chosen on validation "
        f"({html.escape(oos['method'])}): <b>{oos['threshold']:.2f}</b>, where in-scope "
        f"accuracy is {percent(oos['in_scope_accuracy'])} and out-of-scope recall "
        f"{percent(oos['oos_recall'])}.</p>"
    )
    if oos.get("held_out_intents"):
        text += note(
            "No out-of-scope examples in the training file: held-out intents stood in for them "
            f"({html.escape(', '.join(oos['held_out_intents']))})."
        )
    figure = chart(
        charts.tradeoff_chart(
            [p["threshold"] for p in curve],
            [p["in_scope_accuracy"] for p in curve],
            [p["oos_recall"] for p in curve],
            oos["threshold"],
        ),
        "oos_tradeoff",
    )
    by_threshold = {round(p["threshold"], 2): p for p in curve}
    rows = [
        [f"{t:.1f}", percent(p["in_scope_accuracy"]), percent(p["oos_recall"])]
        for t in CURVE_TABLE
        if (p := by_threshold.get(t)) is not None
    ]
    return (
        head
        + text
        + figure
        + table(["threshold", "in-scope accuracy", "out-of-scope recall"], rows)
    )


def _automation(workspace: Workspace) -> str:
    head = "<h3>Automation rate</h3>"
    with workspace.connect(read_only=True) as con:
        total, to_person = con.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE handoff OR status = 'handoff' OR EXISTS (
                       SELECT 1 FROM messages m
                       WHERE m.conversation_id = c.conversation_id AND m.role = 'agent'))
            FROM conversations c
            """
        ).fetchone() or (0, 0)
    if not total:
        return head + note(
            "No conversations yet (<code>shopmind assistant ask</code> or the HTTP endpoint "
            "stores them)."
        )
    return head + (
        f"<p>{total - to_person:,} of {total:,} stored conversations "
        f"(<b>{percent((total - to_person) / total)}</b>) were answered without a person; "
        f"{to_person:,} were handed over or answered by an agent.</p>"
    )
