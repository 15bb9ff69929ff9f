"""Rings and rule backtests on an open connection (the console's Risk review page inside
``shopmind serve``, which holds the workspace open so :func:`list_rings` and
:func:`backtest_workspace` cannot open it again).

Same building blocks, same numbers as ``shopmind risk rings|backtest``: the links of
:func:`link_keys`, :func:`find_rings` / :func:`ring_recovery`, the decision-time features of
:func:`order_features` with the ring features, the stored workspace model, and
:func:`shopmind.risk.rules.backtest`. Rules come as YAML text (a form field) instead of a file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shopmind.features.risk import link_keys, order_features
from shopmind.risk.backtesting import backtest_orders, model_inputs_columns
from shopmind.risk.rings import (
    MAX_LINK_ACCOUNTS,
    find_rings,
    hub_values,
    ring_features,
    ring_recovery,
)
from shopmind.risk.rules import parse_rules
from shopmind.risk.workspace import (
    WorkspaceRisk,
    _require_orders,
    known_bad_accounts,
    link_frame,
    order_labels,
)
from shopmind.store import Workspace

#: A starting rule set shown in the backtest form.
EXAMPLE_RULES = """rules:
  - name: review large first orders
    when: amount > 300
    action: review
otherwise: model
"""


def rings_on(
    con: Any, min_size: int = 3, max_link_accounts: int = MAX_LINK_ACCOUNTS
) -> dict[str, Any]:
    """``shopmind risk rings --json`` over ``con``: rings largest first, with the recovery
    of fraud-labelled accounts when labels exist."""
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


def backtest_on(
    con: Any, tables: Any, workspace: Workspace, rules_text: str, since: str | None = None
) -> dict[str, Any]:
    """``shopmind risk backtest --rules FILE --json`` with the rules as text, over ``con``
    (reads) and ``tables`` (Ibis tables over the same connection)."""
    risk = WorkspaceRisk.load(workspace)
    rules = parse_rules(rules_text, set(model_inputs_columns(risk)), "rules (form)")
    _require_orders(con)
    linked = link_frame(con, risk.links)
    labels = order_labels(con)
    features = order_features(tables, risk.links).execute()
    rings = ring_features(
        linked,
        known_bad_accounts(labels, risk.label_delay_days),
        risk.hubs if risk.hubs is not None else hub_values(linked, risk.max_link_accounts),
        risk.max_link_accounts,
    )
    frame = features.merge(rings, on="order_id", how="left").merge(
        labels[["order_id", "label"]], on="order_id", how="left"
    )
    frame["_s"] = (frame["ts"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    frame = frame.sort_values(["_s", "order_id"], kind="stable").reset_index(drop=True)
    return backtest_orders(risk, rules, frame, since, "rules (form)")


__all__ = ["EXAMPLE_RULES", "backtest_on", "rings_on"]
