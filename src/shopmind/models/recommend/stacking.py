"""A learned re-ranker over a blend's best candidates (stacking with LambdaMART).

A blend (:mod:`hybrid`) adds its components' scaled scores with fixed weights: one
straight line through their opinions. The re-ranker takes the blend's ``candidates`` best
items per case and orders them with gradient-boosted trees (LambdaMART: Burges 2010, "From
RankNet to LambdaRank to LambdaMART: An Overview", MSR-TR-2010-82; LightGBM's
``lambdarank``) over the same opinions plus a few facts about the item and the history
(:data:`FEATURES`). It learns on validation cases the components did not train on;
:func:`shopmind.models.recommend.select.select_model` keeps it only when it beats the blend
on validation cases it did not learn from.

Items outside the candidates keep the blend's order below every candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopmind.errors import NotFittedError, RecommendError
from shopmind.evaluation.ranking import Cases
from shopmind.evaluation.topk import top_k
from shopmind.models.shared import lightgbm

#: Facts about each candidate after the blend score and one scaled score per component.
FEATURES = (
    "blend_rank",  # 0 = the blend's best
    "log_popularity",  # log of interactions / the most popular item's, in the fit data
    "history_length",  # items in the case's history (at most 100)
    "from_end",  # 1 = the history's last item, 2 = the one before, ...; 0 = not in it
    "times_in_history",
    "is_last",  # 1 when the candidate is the history's last item
)
#: A batch of cases scored at once while building features (bounds memory).
BATCH = 1024


class RankerConfig(BaseModel):
    """Settings of the learned re-ranker (LightGBM ``lambdarank``)."""

    model_config = ConfigDict(extra="forbid")
    candidates: int = Field(default=50, ge=2, description="blend items re-ranked per case")
    exclude_seen: bool | None = Field(
        default=None,
        description="candidates leave out the history's items (as the answers do); None: "
        "decided when the ranker learns, True for users' histories, False for sessions",
    )
    trees: int = Field(default=300, ge=1)
    learning_rate: float = Field(default=0.05, gt=0)
    leaves: int = Field(default=31, ge=2)
    min_cases: int = Field(
        default=1_000, ge=1, description="cases with a target among the candidates, to learn"
    )
    seed: int = 0


#: ``score_parts(histories, keys) -> (blend, [scaled score of each component])``
ScoreParts = Callable[[Sequence[np.ndarray], np.ndarray], tuple[np.ndarray, list[np.ndarray]]]


def history_positions(
    histories: Sequence[np.ndarray], top: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: its place from the history's end (1 = last item, 0 = absent) and how
    often it occurs in the history; ``top`` is ``(cases, candidates)`` item indices."""
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    if lengths.sum() == 0:
        zeros = np.zeros(top.shape, dtype=np.float32)
        return zeros, zeros.copy()
    case = np.repeat(np.arange(len(histories)), lengths)
    items = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    from_end = lengths[case] - (np.arange(len(items)) - starts[case])  # 1 = last item
    key = case * n_items + items
    order = np.lexsort((from_end, key))  # by key, nearest occurrence first
    keys, first, counts = np.unique(key[order], return_index=True, return_counts=True)
    nearest = from_end[order][first]
    wanted = np.arange(len(histories))[:, None] * n_items + top
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found = keys[at] == wanted
    place = np.where(found, nearest[at], 0).astype(np.float32)
    times = np.where(found, counts[at], 0).astype(np.float32)
    return place, times


def candidate_features(
    blend: np.ndarray,
    parts: Sequence[np.ndarray],
    histories: Sequence[np.ndarray],
    popularity: np.ndarray,
    config: RankerConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The blend's best ``config.candidates`` items per case and their features:
    ``(cases, candidates)`` item indices and ``(cases, candidates, 1 + len(parts) +
    len(FEATURES))`` float32 (blend score / the case's best, each component's scaled score,
    then :data:`FEATURES`). A candidate left out by ``exclude_seen`` (there are fewer other
    items than candidates) has a relative blend score of -1 (:func:`usable`)."""
    n_items = blend.shape[1]
    if config.exclude_seen is None:
        raise RecommendError(
            "The re-ranker's exclude_seen is not decided yet.",
            hint="Set it, or let the ranker learn first (Hybrid.fit or select.learn_ranker).",
        )
    excluded = list(histories) if config.exclude_seen else None
    # top_k masks excluded items in place: only then does it need its own copy of the blend
    top, values = top_k(blend.copy() if excluded else blend, config.candidates, exclude=excluded)
    best = np.where(np.isfinite(values[:, :1]) & (values[:, :1] > 0), values[:, :1], 1.0)
    relative = np.where(np.isfinite(values), values / best, -1.0)
    rows = np.arange(len(top))[:, None]
    place, times = history_positions(histories, top, n_items)
    lengths = np.array([min(len(h), 100) for h in histories], dtype=np.float32)
    columns = [relative, *(part[rows, top] for part in parts)]
    columns += [
        np.broadcast_to(np.arange(top.shape[1], dtype=np.float32), top.shape),
        np.log(popularity[top] + 1e-6),
        np.broadcast_to(lengths[:, None], top.shape),
        place,
        times,
        (place == 1).astype(np.float32),
    ]
    return top, np.stack(columns, axis=-1).astype(np.float32)


def usable(features: np.ndarray) -> np.ndarray:
    """``(cases, candidates)`` bool: a real candidate, not an item ``exclude_seen`` left out."""
    return np.asarray(features[..., 0] >= 0)


def relevant(top: np.ndarray, targets: Sequence[np.ndarray]) -> np.ndarray:
    """``(cases, candidates)`` bool: the candidate is one of the case's targets."""
    return np.stack([np.isin(row, target) for row, target in zip(top, targets, strict=True)])


def build_training(
    score_parts: ScoreParts, cases: Cases, popularity: np.ndarray, config: RankerConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates, features and labels of ``cases`` (scored ``BATCH`` cases at a time)."""
    tops, features, labels = [], [], []
    for start in range(0, len(cases), BATCH):
        histories = cases.histories[start : start + BATCH]
        blend, parts = score_parts(histories, cases.keys[start : start + BATCH])
        top, x = candidate_features(blend, parts, histories, popularity, config)
        tops.append(top)
        features.append(x)
        labels.append(relevant(top, cases.targets[start : start + BATCH]) & usable(x))
    return np.concatenate(tops), np.concatenate(features), np.concatenate(labels)


class LearnedRanker:
    """LambdaMART over candidate features; learned state ``booster_`` (a LightGBM booster)."""

    def __init__(self, config: RankerConfig | None = None, **overrides: Any) -> None:
        base = config.model_dump() if config is not None else {}
        self.config = RankerConfig.model_validate({**base, **overrides})

    def fit(self, features: np.ndarray, labels: np.ndarray) -> Self:
        """Learn from ``(cases, candidates, f)`` features and ``(cases, candidates)`` labels;
        cases without a relevant candidate teach nothing and are left out."""
        c = self.config
        useful = labels.any(axis=1)
        if int(useful.sum()) < c.min_cases:
            raise RecommendError(
                f"{int(useful.sum())} cases have a target among the candidates; the re-ranker "
                f"needs {c.min_cases}.",
                hint="Use more validation cases, or a blend without a re-ranker.",
            )
        x, y = features[useful], labels[useful]
        ranker = lightgbm(
            "ranker",
            c.seed,
            n_estimators=c.trees,
            learning_rate=c.learning_rate,
            num_leaves=c.leaves,
            min_child_samples=50,
            lambdarank_truncation_level=20,
        )
        ranker.fit(
            x.reshape(-1, x.shape[-1]),
            y.reshape(-1).astype(np.int32),
            group=np.full(len(x), x.shape[1]),
        )
        self.booster_ = ranker.booster_
        self.n_features_ = int(x.shape[-1])
        return self

    def check_inputs(self, n_components: int) -> None:
        """Refuse a blend whose weighted components differ in number from those it learned."""
        expected = 1 + n_components + len(FEATURES)
        if getattr(self, "n_features_", expected) != expected:
            raise RecommendError(
                f"The re-ranker learned from {self.n_features_ - 1 - len(FEATURES)} weighted "
                f"components; this blend has {n_components}.",
                hint="Train the hybrid again so that its re-ranker learns on its components.",
            )

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``(cases, candidates)`` ranking scores (higher is better)."""
        if not hasattr(self, "booster_"):
            raise NotFittedError(
                "The learned re-ranker is not trained.",
                hint="Fit it on validation candidates first (LearnedRanker.fit).",
            )
        flat = features.reshape(-1, features.shape[-1])
        return np.asarray(self.booster_.predict(flat), dtype=np.float32).reshape(features.shape[:2])

    def order(self, top: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The candidates ``top`` re-ordered best first by the ranker, and which of them are
        usable (left-out items last, marked False)."""
        scores = np.where(usable(features), self.predict(features), -np.inf)
        by_ranker = np.argsort(-scores, axis=1, kind="stable")
        return (
            np.take_along_axis(top, by_ranker, axis=1),
            np.take_along_axis(np.isfinite(scores), by_ranker, axis=1),
        )


def reranked_scores(blend: np.ndarray, ordered: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Full score rows: the ranker's order of the usable (``ok``) candidates ``ordered``
    above everything (scores in (1, 2], best highest); the other items keep the blend's
    order in [0, 1]."""
    best = blend.max(axis=1, keepdims=True)
    out = (blend / np.where(best > 0, best, 1.0)).astype(np.float32)
    n = ordered.shape[1]
    rows = np.arange(len(out))[:, None]
    lifted = np.broadcast_to(1.0 + (n - np.arange(n, dtype=np.float32)) / n, ordered.shape)
    out[rows, ordered] = np.where(ok, lifted, out[rows, ordered])
    return out
