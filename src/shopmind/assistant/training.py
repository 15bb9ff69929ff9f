"""Train and apply the intent model on tabular files (the CLI's ``assistant train`` and
``assistant classify``), or on the workspace's own tickets and agent-labelled messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.assistant.engine import intent_model_path
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
    require_columns(frame, [text_col], source, "--text-col")
    require_columns(frame, [label_col], source, "--label-col")
    if frame.empty:
        raise AssistantError(f"{source} has no rows.", hint="Pass a file with labelled messages.")
    model = IntentModel(config).fit(frame[text_col].tolist(), frame[label_col].tolist(), progress)
    path = model.save(intent_model_path(workspace))
    return model, path


def classify(workspace: Workspace, frame: pd.DataFrame, text_col: str, source: str) -> pd.DataFrame:
    """``row,intent,confidence,language,out_of_scope,second_intent,second_confidence`` for every
    input row, in input order (``row`` is the 0-based row index)."""
    require_columns(frame, [text_col], source, "--text-col")
    model = IntentModel.load(intent_model_path(workspace))
    texts = check_texts(frame[text_col].tolist(), max_chars=model.config.max_text_chars)
    if texts:
        predicted = model.predict(texts)
    else:
        predicted = pd.DataFrame(
            columns=[
                "intent",
                "confidence",
                "language",
                "out_of_scope",
                "second_intent",
                "second_confidence",
            ]
        )
    predicted.insert(0, "row", np.arange(len(frame)))
    return predicted


def summary(model: IntentModel, path: Path) -> dict[str, Any]:
    report: dict[str, Any] = dict(model.report_)
    curve: list[Any] = list(report.pop("threshold_curve", []))
    report["threshold_curve"] = curve[::5] if len(curve) > 30 else curve
    return {"model": str(path), "oos_label": model.config.oos_label, **report}
