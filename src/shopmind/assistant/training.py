"""Train and apply the intent model on tabular files (the CLI's ``assistant train`` and
``assistant classify``), or on the workspace's own tickets and agent-labelled messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from shopmind.assistant.engine import intent_model_path
from shopmind.assistant.keywords import keyword_intent
from shopmind.assistant.store import training_pairs
from shopmind.errors import AssistantError
from shopmind.models.intent import IntentConfig, IntentModel, check_texts
from shopmind.store import Workspace


def require_columns(frame: pd.DataFrame, columns: list[str], source: str, option: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AssistantError(
            f"Column(s) {', '.join(repr(c) for c in missing)} not in {source} "
            f"(found: {', '.join(map(str, frame.columns))}).",
            hint=f"Name the right column with {option}.",
        )


def workspace_training_data(workspace: Workspace) -> pd.DataFrame:
    """``text,intent`` rows from the ``tickets`` table plus customer messages an agent
    labelled in the assistant (their reply's intent)."""
    with workspace.connect(read_only=True) as con:
        tickets = con.execute(
            "SELECT text, intent FROM tickets WHERE intent IS NOT NULL AND text IS NOT NULL "
            "ORDER BY ticket_id"
        ).df()
        try:
            labelled = pd.DataFrame(training_pairs(con))
        except Exception:  # a workspace without the conversation tables yet
            labelled = pd.DataFrame()
    if not labelled.empty:
        labelled = labelled[labelled["intent"].notna()][["text", "intent"]]
        tickets = pd.concat([tickets, labelled], ignore_index=True)
    if tickets.empty:
        raise AssistantError(
            "The workspace has no labelled messages (tickets with an intent, or agent replies "
            "with --intent).",
            hint="Train from a file: `shopmind assistant train --data FILE --text-col text "
            "--label-col intent`.",
        )
    return tickets


def train(
    workspace: Workspace,
    frame: pd.DataFrame,
    text_col: str,
    label_col: str,
    source: str,
    config: IntentConfig,
    progress: Callable[[str], None] | None = None,
) -> tuple[IntentModel, Path]:
    """Fit the intent model on labelled messages and install it in the workspace; a warning
    in its report when it is less accurate on its validation rows than the keyword rules are
    on the whole data (the rules answer when no model is installed)."""
    require_columns(frame, [text_col], source, "--text-col")
    require_columns(frame, [label_col], source, "--label-col")
    if frame.empty:
        raise AssistantError(f"{source} has no rows.", hint="Pass a file with labelled messages.")
    texts, labels = frame[text_col].tolist(), frame[label_col].tolist()
    model = IntentModel(config).fit(texts, labels, progress)
    rules = rules_accuracy(texts, labels)
    model.report_["rules_accuracy"] = rules
    learnt = float(cast(float, model.report_["validation_accuracy"]))
    if rules is not None and learnt < rules:
        model.report_["warnings"] = [
            f"the model's validation accuracy {learnt:.3f} "
            f"({model.report_['validation_rows']} held-out messages) is below the built-in "
            f"keyword rules' {rules:.3f} on these messages: the assistant now answers with this "
            "weaker model; add labelled messages (10 or more per intent) and train again, or "
            "delete the model file to go back to the rules."
        ]
    path = model.save(intent_model_path(workspace))
    return model, path


def rules_accuracy(texts: list[Any], labels: list[Any]) -> float | None:
    """Accuracy of the keyword rules (the assistant's answer without a model) on labelled
    messages; None when the rules name none of the labels (another intent vocabulary)."""
    names = {str(label) for label in labels}
    guesses = [keyword_intent(str(text)) for text in texts]
    if not names & {g for g in guesses if g}:
        return None
    hits = sum(g == str(label) for g, label in zip(guesses, labels, strict=True))
    return hits / len(labels)


def classify(workspace: Workspace, frame: pd.DataFrame, text_col: str, source: str) -> pd.DataFrame:
    """``row,intent,confidence,language,out_of_scope,second_intent,second_confidence`` for every
    input row, in input order (``row`` is the 0-based row index)."""
    require_columns(frame, [text_col], source, "--text-col")
    model = IntentModel.load(intent_model_path(workspace))
    # an empty message asks nothing: out of scope (no intent), so one such row does not
    # cost the file its answers
    every = check_texts(
        frame[text_col].tolist(), max_chars=model.config.max_text_chars, allow_empty=True
    )
    empty = np.array([not t.strip() for t in every], dtype=bool)
    texts = [t for t in every if t.strip()]
    columns = ["intent", "confidence", "language", "out_of_scope"]
    columns += ["second_intent", "second_confidence"]
    predicted = model.predict(texts) if texts else pd.DataFrame(columns=columns)
    result = pd.DataFrame(
        {
            "row": np.arange(len(frame)),
            "intent": model.config.oos_label or "",
            "confidence": 0.0,
            "language": "",
            "out_of_scope": True,
            "second_intent": "",
            "second_confidence": 0.0,
        }
    )
    if len(predicted):
        result.loc[~empty, columns] = predicted[columns].to_numpy()
    for name, kind in (("confidence", float), ("second_confidence", float)):
        result[name] = result[name].astype(kind)
    result["out_of_scope"] = result["out_of_scope"].astype(bool)
    return result


def summary(model: IntentModel, path: Path) -> dict[str, Any]:
    report: dict[str, Any] = dict(model.report_)
    curve: list[Any] = list(report.pop("threshold_curve", []))
    report["threshold_curve"] = curve[::5] if len(curve) > 30 else curve
    return {"model": str(path), "oos_label": model.config.oos_label, **report}
