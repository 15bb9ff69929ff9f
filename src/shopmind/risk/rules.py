"""Readable risk rules (YAML) with conditions on features and the score.

```yaml
rules:
  - name: block linked fresh accounts
    when:
      - ring_size >= 4
      - account_age_days < 2
    action: block
  - name: review large first orders
    when: first_order == 1 and amount > 500
    action: review
otherwise: model      # model (the score thresholds), allow, review or block
```

Rules are tried in file order; the first whose conditions all hold decides. A condition is
``FEATURE OP VALUE`` with OP one of ``< <= > >= == !=``; ``score`` is the 0-100 risk score.
A file with an unknown feature, a bad operator or value, or an unknown action is refused
whole, naming the line and the reason.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.models.risk import DECISIONS

OPS = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_CONDITION = re.compile(
    r"^\s*(?P<feature>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>[^<>=!]+?)\s*$"
)
OTHERWISE = ("model", *DECISIONS)


class RuleError(ShopmindError):
    """A rule file is refused; nothing is applied."""

    def __init__(self, path: str, line: int, reason: str, hint: str = "") -> None:
        super().__init__(f"{path}, line {line}: {reason}", hint=hint)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: float | str
    line: int

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        column = frame[self.feature]
        if isinstance(self.value, str):
            result = OPS[self.op](column.astype("string"), self.value)
        else:
            result = OPS[self.op](pd.to_numeric(column, errors="coerce"), self.value)
        return np.asarray(pd.Series(result).fillna(False), dtype=bool)

    def text(self) -> str:
        return f"{self.feature} {self.op} {self.value}"


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    action: str
    line: int


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    otherwise: str = "model"

    def apply(
        self, features: pd.DataFrame, model_decisions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(decision, rule name or '' for the fallback) per row."""
        n = len(features)
        decision = np.array(
            model_decisions if self.otherwise == "model" else [self.otherwise] * n, dtype=object
        )
        rule = np.full(n, "", dtype=object)
        decided = np.zeros(n, dtype=bool)
        for r in self.rules:
            hit = ~decided
            for c in r.conditions:
                hit &= c.holds(features)
            decision[hit] = r.action
            rule[hit] = r.name
            decided |= hit
        return decision, rule


def _scalar(node: Any) -> str | None:
    import yaml

    return node.value if isinstance(node, yaml.ScalarNode) else None


def parse_rules(text: str, features: set[str], path: str = "rules.yaml") -> RuleSet:
    """Parse and check a rule file against the features the model knows (+ ``score``)."""
    import yaml

    known = set(features) | {"score"}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RuleError(path, line, f"not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(root, yaml.MappingNode):
        raise RuleError(path, 1, "the file must be a mapping with a 'rules:' list")
    top = {_scalar(k): v for k, v in root.value}
    for key, value in top.items():
        if key not in ("rules", "otherwise"):
            raise RuleError(
                path,
                value.start_mark.line + 1,
                f"unknown key '{key}'",
                hint="Use 'rules:' and optionally 'otherwise:'.",
            )
    otherwise = "model"
    if "otherwise" in top:
        otherwise = str(_scalar(top["otherwise"]))
        if otherwise not in OTHERWISE:
            raise RuleError(
                path,
                top["otherwise"].start_mark.line + 1,
                f"unknown otherwise '{otherwise}'",
                hint=f"Use one of: {', '.join(OTHERWISE)}.",
            )
    node = top.get("rules")
    if not isinstance(node, yaml.SequenceNode):
        line = node.start_mark.line + 1 if node is not None else 1
        raise RuleError(path, line, "'rules:' must be a list of rules")
    rules = []
    for index, item in enumerate(node.value, start=1):
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            raise RuleError(path, line, f"rule {index} must be a mapping (name, when, action)")
        fields = {_scalar(k): v for k, v in item.value}
        for key in fields:
            if key not in ("name", "when", "action"):
                raise RuleError(
                    path,
                    fields[key].start_mark.line + 1,
                    f"unknown rule key '{key}'",
                    hint="A rule has name, when and action.",
                )
        name = _scalar(fields["name"]) if "name" in fields else f"rule {index}"
        if "action" not in fields:
            raise RuleError(
                path,
                line,
                f"rule '{name}' has no action",
                hint="Add action: block, review or allow.",
            )
        action = _scalar(fields["action"])
        if action not in DECISIONS:
            raise RuleError(
                path,
                fields["action"].start_mark.line + 1,
                f"rule '{name}': unknown action '{action}'",
                hint="Use block, review or allow.",
            )
        if "when" not in fields:
            raise RuleError(path, line, f"rule '{name}' has no 'when' conditions")
        when = fields["when"]
        texts: list[tuple[str, int]] = []
        if isinstance(when, yaml.SequenceNode):
            for part in when.value:
                value = _scalar(part)
                if value is None:
                    raise RuleError(
                        path,
                        part.start_mark.line + 1,
                        "a condition must be text like 'amount > 100'",
                    )
                texts.append((value, part.start_mark.line + 1))
        elif _scalar(when) is not None:
            texts = [
                (t, when.start_mark.line + 1) for t in re.split(r"\s+and\s+", str(_scalar(when)))
            ]
        else:
            raise RuleError(path, when.start_mark.line + 1, "'when' must be a condition or a list")
        conditions = tuple(_condition(t, ln, known, path) for t, ln in texts)
        rules.append(Rule(str(name), conditions, str(action), line))
    return RuleSet(tuple(rules), otherwise)


def _condition(text: str, line: int, known: set[str], path: str) -> Condition:
    match = _CONDITION.match(text)
    if not match:
        raise RuleError(
            path,
            line,
            f"cannot read condition '{text}'",
            hint="Write FEATURE OP VALUE, e.g. 'amount > 500' (OP: < <= > >= == !=).",
        )
    feature, op, raw = match["feature"], match["op"], match["value"]
    if feature not in known:
        close = sorted(known, key=lambda k: _distance(k, feature))[:5]
        raise RuleError(
            path,
            line,
            f"unknown feature '{feature}'",
            hint=f"Known features include: {', '.join(close)} (see `shopmind risk features`).",
        )
    raw = raw.strip()
    value: float | str
    if (raw.startswith("'") and raw.endswith("'")) or (raw.startswith('"') and raw.endswith('"')):
        value = raw[1:-1]
        if op not in ("==", "!="):
            raise RuleError(path, line, f"'{op}' needs a number, not the text {raw}")
    else:
        try:
            value = float(raw)
        except ValueError:
            raise RuleError(
                path,
                line,
                f"'{raw}' is not a number",
                hint="Quote text values: browser == 'Opera'.",
            ) from None
    return Condition(feature, op, value, line)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (for suggestions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def load_rules(path: Path, features: set[str]) -> RuleSet:
    if not path.exists():
        raise ShopmindError(f"Rule file not found: {path}.", hint="Check the path.")
    return parse_rules(path.read_text(encoding="utf-8"), features, str(path))


def backtest(
    rules: RuleSet,
    features: pd.DataFrame,
    scores: np.ndarray,
    model_decisions: np.ndarray,
    labels: np.ndarray,
    amounts: np.ndarray | None,
) -> dict[str, Any]:
    """Precision, recall, review and block rates, and money saved on labelled rows.

    Money saved: value of bad rows blocked or sent to review (a review is assumed to stop
    them); money at risk: value of good rows blocked (lost sales)."""
    frame = features.assign(score=scores)
    decision, rule = rules.apply(frame, model_decisions)
    y = np.asarray(labels, dtype=int)
    flagged = decision != "allow"
    amount = np.zeros(len(y)) if amounts is None else np.nan_to_num(np.asarray(amounts, float))
    bad = y == 1

    def share(a: np.ndarray, b: np.ndarray) -> float | None:
        return float(a.sum() / b.sum()) if b.sum() else None

    per_rule = []
    for r in rules.rules:
        hit = rule == r.name
        per_rule.append(
            {
                "rule": r.name,
                "line": r.line,
                "action": r.action,
                "matched": int(hit.sum()),
                "bad": int((hit & bad).sum()),
                "precision": share(hit & bad, hit),
            }
        )
    return {
        "rows": len(y),
        "bad": int(bad.sum()),
        "precision": share(flagged & bad, flagged),
        "recall": share(flagged & bad, bad),
        "review_rate": float((decision == "review").mean()) if len(y) else None,
        "block_rate": float((decision == "block").mean()) if len(y) else None,
        "money_saved": float(amount[flagged & bad].sum()),
        "good_value_blocked": float(amount[(decision == "block") & ~bad].sum()),
        "bad_value_missed": float(amount[~flagged & bad].sum()),
        "rules": per_rule,
        "otherwise": rules.otherwise,
    }
