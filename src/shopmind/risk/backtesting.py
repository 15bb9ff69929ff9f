"""Backtests of a rule set on labelled history (workspace orders or a labelled file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.risk.rules import backtest, load_rules
from shopmind.risk.tabular import TabularRisk, labels_of
from shopmind.store import Workspace

_AMOUNT_NAMES = ("amount", "purchase_value", "order_value", "value", "total", "price")


def backtest_workspace(
    workspace: Workspace, rules_path: Path, since: str | None = None
) -> dict[str, Any]:
    from shopmind.risk.workspace import WorkspaceRisk, feature_frame

    risk = WorkspaceRisk.load(workspace)
    rules = load_rules(rules_path, set(model_inputs_columns(risk)))
    frame, _, _ = feature_frame(
        workspace, risk.links, risk.label_delay_days, risk.max_link_accounts, risk.hubs
    )
    return backtest_orders(risk, rules, frame, since, str(rules_path))


def backtest_orders(
    risk: Any, rules: Any, frame: pd.DataFrame, since: str | None, source: str
) -> dict[str, Any]:
    """Rules and the workspace model on the labelled orders of ``frame`` (decision-time
    features, ``label`` and ``amount``) from ``since`` on; ``source`` names the rules."""
    from shopmind.risk.workspace import model_inputs

    if since:
        frame = frame[frame["ts"] >= pd.Timestamp(since)]
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    if frame.empty:
        raise ShopmindError(
            "No labelled orders to backtest on.",
            hint="Fraud labels come from the labels table or from review decisions.",
        )
    x = model_inputs(frame)
    scores = risk.model.score(x)
    result = backtest(
        rules,
        x,
        scores,
        risk.model.decide(scores),
        frame["label"].to_numpy(int),
        frame["amount"].to_numpy(float),
    )
    return {"rules_file": source, **result}


def model_inputs_columns(risk: Any) -> list[str]:
    from shopmind.features.risk import ORDER_FEATURE_LABELS

    return sorted(set(risk.model.features_) | set(ORDER_FEATURE_LABELS))


def backtest_tabular(
    risk: TabularRisk, frame: pd.DataFrame, label: str, rules_path: Path, amount_col: str | None
) -> dict[str, Any]:
    y = labels_of(frame, label)
    x = risk.features.transform(frame.reset_index(drop=True))
    known = set(x.columns) | {str(c) for c in frame.columns if c != label}
    rules = load_rules(rules_path, known)
    scores = risk.model.score(x)
    raw = frame.reset_index(drop=True).drop(columns=[label])
    extra = raw[[c for c in raw.columns if c not in x.columns]]
    both = pd.concat([x, extra], axis=1)
    if amount_col is None:
        amount_col = next((c for c in frame.columns if str(c).lower() in _AMOUNT_NAMES), None)
    elif amount_col not in frame.columns:
        raise ShopmindError(f"--amount-col {amount_col} is not in the file.")
    amounts = (
        pd.to_numeric(frame[amount_col], errors="coerce").to_numpy(float)
        if amount_col
        else np.zeros(len(frame))
    )
    result = backtest(rules, both, scores, risk.model.decide(scores), y, amounts)
    return {"rules_file": str(rules_path), "amount_column": amount_col, **result}
