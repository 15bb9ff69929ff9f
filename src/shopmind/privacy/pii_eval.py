"""Span-level precision / recall / F2 of PII detection.

Protocol (close to presidio-evaluator's ``SpanEvaluator``): a predicted span matches a gold
span when their character IoU, counted over non-space, non-punctuation characters, is at least
``iou`` (0.7 by default, as in presidio-research notebook 5; ``iou=1.0`` is exact match after
trimming spaces and punctuation). Matching is one-to-one, best IoU first. Per entity type the
types must agree; the ``PII`` row ignores types (any detected span over any gold span), as
presidio-evaluator's ``pii_precision`` / ``pii_recall`` / ``pii_f`` (F-beta, beta 2) do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from shopmind.privacy.pii_tagger import Example, Span

BETA = 2.0


@dataclass
class Score:
    """Counts and rates for one entity type."""

    entity: str
    gold: int = 0
    predicted: int = 0
    matched_gold: int = 0
    matched_predicted: int = 0

    @property
    def precision(self) -> float:
        return self.matched_predicted / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched_gold / self.gold if self.gold else 0.0

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        b2 = BETA * BETA
        return (1 + b2) * p * r / (b2 * p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "entity": self.entity,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f2": round(self.f2, 4),
            "gold": self.gold,
            "predicted": self.predicted,
        }


def _chars(text: str, start: int, end: int) -> frozenset[int]:
    return frozenset(
        i
        for i in range(start, min(end, len(text)))
        if not text[i].isspace() and not unicodedata.category(text[i]).startswith("P")
    )


def _iou(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _match(
    text: str, gold: Sequence[Span], pred: Sequence[Span], iou: float
) -> tuple[set[int], set[int]]:
    g_chars = [_chars(text, s, e) for _, s, e in gold]
    p_chars = [_chars(text, s, e) for _, s, e in pred]
    pairs = sorted(
        (
            (_iou(gc, pc), gi, pi)
            for gi, gc in enumerate(g_chars)
            for pi, pc in enumerate(p_chars)
            if gc & pc
        ),
        reverse=True,
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    for value, gi, pi in pairs:
        if value + 1e-9 < iou or gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
    return used_g, used_p


def evaluate_spans(
    examples: Iterable[Example],
    predict: Callable[[str], Sequence[Span]],
    *,
    iou: float = 0.7,
    entities: Sequence[str] | None = None,
) -> dict[str, Score]:
    """Per-type scores plus ``PII`` (types ignored) of ``predict`` on ``examples``.

    ``entities`` limits both gold and predicted spans to those types (default: all).
    """
    scores: dict[str, Score] = {}
    pii = Score("PII")
    keep = set(entities) if entities is not None else None
    for text, gold_all in examples:
        gold = [s for s in gold_all if keep is None or s[0] in keep]
        pred = [s for s in predict(text) if keep is None or s[0] in keep]
        for kind in {s[0] for s in gold} | {s[0] for s in pred}:
            g = [s for s in gold if s[0] == kind]
            p = [s for s in pred if s[0] == kind]
            score = scores.setdefault(kind, Score(kind))
            mg, mp = _match(text, g, p, iou)
            score.gold += len(g)
            score.predicted += len(p)
            score.matched_gold += len(mg)
            score.matched_predicted += len(mp)
        mg, mp = _match(text, gold, pred, iou)
        pii.gold += len(gold)
        pii.predicted += len(pred)
        pii.matched_gold += len(mg)
        pii.matched_predicted += len(mp)
    out = dict(sorted(scores.items()))
    out["PII"] = pii
    return out
