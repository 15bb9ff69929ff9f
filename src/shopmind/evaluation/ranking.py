"""Top-k ranking metrics over the full catalogue, one implementation for every model.

Each test case has a history (the model's input) and one or more target items. A model's
scores rank *all* items (the user's history excluded when ``exclude_seen``); the metrics
read the top-``k`` list a user would actually get:

- HR@k: share of cases with at least one target in the list;
- Recall@k: targets found / targets; Precision@k: targets found / k;
- NDCG@k: DCG / ideal DCG (binary relevance, log2 discount; Jarvelin & Kekalainen 2002);
- MRR@k: 1 / rank of the first target found (0 when none);
- coverage, novelty (mean self-information per recommended slot, Zhou et al. 2010) and
  intra-list diversity ILD: see ``shopmind.evaluation.diversity``; reported overall, per
  history length and, given ``groups`` (e.g. RFM segments), per customer segment.

``rerank`` replaces the plain top-k (e.g. business rules with an MMR re-rank), so the
metrics read the lists users would get.

``sampled=N`` ranks each target against N random unseen items instead (the protocol of
older papers, only comparable with itself; results are labelled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopmind.evaluation.diversity import (
    ItemSimilarity,
    group_labels,
    intra_list_diversity,
    list_metrics,
)
from shopmind.evaluation.topk import top_k

#: (scores, k, excluded histories) -> (indices, values), like ``top_k``
Rerank = Callable[[np.ndarray, int, list[np.ndarray]], tuple[np.ndarray, np.ndarray]]

LENGTH_BUCKETS = ((1, 1), (2, 4), (5, 9), (10, 19), (20, 10**9))


@dataclass
class Cases:
    """Evaluation cases: input histories, training-key index (-1 unknown), targets."""

    histories: list[np.ndarray]
    keys: np.ndarray
    targets: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.histories)

    def take(self, rows: np.ndarray) -> Cases:
        return Cases(
            [self.histories[i] for i in rows], self.keys[rows], [self.targets[i] for i in rows]
        )


@dataclass
class Accumulator:
    """Per-case metric sums for one k (merged across batches)."""

    k: int
    per_case: dict[str, list[np.ndarray]] = field(default_factory=dict)
    recommended: list[np.ndarray] = field(default_factory=list)  # top lists, -1 = padding

    def add(self, name: str, values: np.ndarray) -> None:
        self.per_case.setdefault(name, []).append(values)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.per_case.items()}


def batch_metrics(top: np.ndarray, targets: Sequence[np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Per-case HR, recall, precision, NDCG, MRR of top lists ``top[:, :k]``."""
    top = top[:, :k]
    n = len(targets)
    hr, recall, precision, ndcg, mrr = (np.zeros(n) for _ in range(5))
    discount = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))  # catalogue may be < k
    for row, target in enumerate(targets):
        hit = np.isin(top[row], target)
        found = int(hit.sum())
        if not found:
            continue
        hr[row] = 1.0
        recall[row] = found / len(target)
        precision[row] = found / k
        ideal = discount[: min(len(target), top.shape[1])].sum()
        ndcg[row] = float(discount[hit].sum() / ideal)
        mrr[row] = 1.0 / (int(np.argmax(hit)) + 1)
    return {"hr": hr, "recall": recall, "precision": precision, "ndcg": ndcg, "mrr": mrr}


def sampled_ranks(
    scores: np.ndarray, targets: Sequence[np.ndarray], n_negatives: int, rng: np.random.Generator
) -> np.ndarray:
    """0-based rank of each first target among ``n_negatives`` random unmasked items."""
    ranks = np.zeros(len(targets))
    for row, target in enumerate(targets):
        allowed = np.flatnonzero(np.isfinite(scores[row]))
        allowed = allowed[~np.isin(allowed, target)]
        negatives = rng.choice(allowed, size=min(n_negatives, len(allowed)), replace=False)
        ranks[row] = float((scores[row, negatives] > scores[row, target[0]]).sum())
    return ranks


def evaluate_scores(
    score: Callable[[list[np.ndarray], np.ndarray], np.ndarray],
    cases: Cases,
    n_items: int,
    ks: Sequence[int] = (10, 20),
    *,
    exclude_seen: bool = True,
    sampled: int | None = None,
    popularity: np.ndarray | None = None,
    batch_size: int = 1024,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    rerank: Rerank | None = None,
    similarity: ItemSimilarity | None = None,
    groups: np.ndarray | None = None,
) -> dict:
    """Metrics of a scoring function on ``cases`` (see the module docstring)."""
    max_k = max(ks)
    accumulators = {k: Accumulator(k) for k in ks}
    rng = np.random.default_rng(seed)
    sampled_rank_parts: list[np.ndarray] = []
    for start in range(0, len(cases), batch_size):
        histories = cases.histories[start : start + batch_size]
        targets = cases.targets[start : start + batch_size]
        scores = np.array(score(histories, cases.keys[start : start + batch_size]), np.float32)
        excluded = histories if exclude_seen else [np.zeros(0, np.int64)] * len(histories)
        if rerank is None:
            top, values = top_k(scores, max_k, exclude=excluded)
        else:
            top, values = rerank(scores, max_k, list(excluded))
        top = np.where(np.isfinite(values), top, -1)
        if sampled:
            sampled_rank_parts.append(sampled_ranks(scores, targets, sampled, rng))
        for k, acc in accumulators.items():
            for name, values in batch_metrics(top, targets, k).items():
                acc.add(name, values)
            acc.recommended.append(top[:, :k])
        if progress is not None:
            progress(len(histories))
    return summarise(
        accumulators,
        cases,
        n_items,
        popularity,
        sampled,
        sampled_rank_parts,
        similarity=similarity,
        groups=groups,
    )


def summarise(
    accumulators: dict[int, Any],
    cases: Any,
    n_items: int,
    popularity: np.ndarray | None,
    sampled: int | None,
    sampled_rank_parts: list[Any],
    *,
    similarity: ItemSimilarity | None = None,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Means overall, per history-length bucket and per ``groups`` label."""
    lengths = np.array([len(h) for h in cases.histories])
    result: dict = {"cases": len(cases), "n_items": n_items, "metrics": {}, "segments": {}}
    buckets: dict[str, np.ndarray] = {}
    for low, high in LENGTH_BUCKETS:
        mask = (lengths >= low) & (lengths <= high)
        if mask.any():
            buckets[f"history {low}-{high}" if high < 10**9 else f"history {low}+"] = mask
    customer: dict[str, np.ndarray] = {}
    if groups is not None:
        labels = np.array(group_labels(groups), dtype=object)
        names, counts = np.unique(labels, return_counts=True)
        for name in names[np.argsort(-counts, kind="stable")]:
            customer[str(name)] = labels == name
        result["customer_segments"] = {}
    for k, acc in accumulators.items():
        arrays = acc.arrays()
        for name, values in arrays.items():
            result["metrics"][f"{name}@{k}"] = float(values.mean()) if len(values) else 0.0
        top = np.concatenate(acc.recommended) if acc.recommended else np.zeros((0, k), np.int64)
        ild = None
        if similarity is not None:
            ild = intra_list_diversity(top, similarity)
        result["metrics"].update(list_metrics(top, n_items, popularity, similarity, k, ild))
        for where, masks in (("segments", buckets), ("customer_segments", customer)):
            for label, mask in masks.items():
                segment = result[where].setdefault(label, {"cases": int(mask.sum())})
                segment[f"ndcg@{k}"] = float(arrays["ndcg"][mask].mean())
                segment[f"hr@{k}"] = float(arrays["hr"][mask].mean())
                part_ild = None if ild is None else ild[mask]
                segment.update(
                    list_metrics(top[mask], n_items, popularity, similarity, k, part_ild)
                )
    if sampled:
        ranks = np.concatenate(sampled_rank_parts)
        for k in accumulators:
            hit = ranks < k
            result["metrics"][f"sampled{sampled}_hr@{k}"] = float(hit.mean())
            result["metrics"][f"sampled{sampled}_ndcg@{k}"] = float(
                np.where(hit, 1.0 / np.log2(ranks + 2), 0.0).mean()
            )
    return result
