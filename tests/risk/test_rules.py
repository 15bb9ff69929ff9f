"""Rule files: parsing, refusals naming the line and reason, application and backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopmind.risk.rules import RuleError, backtest, parse_rules

FEATURES = {"amount", "ring_size", "account_age_days", "browser"}

GOOD = """\
rules:
  - name: rings
    when:
      - ring_size >= 4
      - account_age_days < 2
    action: block
  - name: big
    when: amount > 500 and score >= 10
    action: review
  - name: opera
    when: browser == 'Opera'
    action: review
otherwise: model
"""


def test_parse_and_apply() -> None:
    rules = parse_rules(GOOD, FEATURES)
    assert [r.name for r in rules.rules] == ["rings", "big", "opera"]
    assert rules.rules[0].line == 2 and rules.rules[0].conditions[1].line == 5
    frame = pd.DataFrame(
        {
            "ring_size": [5, 5, 1, 1, 1],
            "account_age_days": [1, 10, 1, 1, 1],
            "amount": [10, 10, 900, 900, 5],
            "browser": ["IE", "IE", "IE", "IE", "Opera"],
            "score": [1, 1, 50, 5, 1],
        }
    )
    decision, rule = rules.apply(frame, np.array(["allow"] * 5))
    assert decision.tolist() == ["block", "allow", "review", "allow", "review"]
    assert rule.tolist() == ["rings", "", "big", "", "opera"]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "rules:\n  - name: x\n    when: amont > 5\n    action: block\n",
            3,
            "unknown feature 'amont'",
        ),
        (
            "rules:\n  - name: x\n    when: amount > 5\n    action: deny\n",
            4,
            "unknown action 'deny'",
        ),
        (
            "rules:\n  - name: x\n    when:\n      - amount >> 5\n    action: block\n",
            4,
            "unknown feature 'amount >'",
        ),
        ("rules:\n  - name: x\n    when:\n      - amount\n    action: block\n", 4, "cannot read"),
        ("rules:\n  - name: x\n    when: amount > five\n    action: block\n", 3, "not a number"),
        ("rules:\n  - name: x\n    when: amount > 5\n", 2, "has no action"),
        ("rules: [\n", 2, "not valid YAML"),
        (
            "rules:\n  - name: x\n    when: amount > 5\n    action: block\notherwise: maybe\n",
            5,
            "unknown otherwise",
        ),
    ],
)
def test_invalid_rules_name_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rules(text, FEATURES, "r.yaml")
    assert info.value.line == line
    assert reason in str(info.value)
    assert f"r.yaml, line {line}" in str(info.value)


def test_unknown_feature_suggests_close_names() -> None:
    with pytest.raises(RuleError, match="ring_size"):
        parse_rules("rules:\n  - name: x\n    when: ring_sise > 5\n    action: block\n", FEATURES)


def test_backtest_numbers() -> None:
    rules = parse_rules(
        "rules:\n  - name: big\n    when: amount > 100\n    action: block\notherwise: allow\n",
        FEATURES,
    )
    frame = pd.DataFrame({"amount": [200.0, 300.0, 50.0, 150.0]})
    result = backtest(
        rules,
        frame,
        np.zeros(4),
        np.array(["allow"] * 4),
        np.array([1, 0, 1, 1]),
        frame["amount"].to_numpy(),
    )
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["block_rate"] == 0.75 and result["review_rate"] == 0.0
    assert result["money_saved"] == 350.0 and result["good_value_blocked"] == 300.0
    assert result["bad_value_missed"] == 50.0
    assert result["rules"][0]["matched"] == 3
