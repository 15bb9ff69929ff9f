"""Model selection on the validation split only (the test split is never looked at).

Each candidate family is tuned by one pass of coordinate descent over a small grid
(start from the defaults, try each value of one parameter, keep the best, move on); then
the best ``BLEND_SIZE`` personalised families are blended (:mod:`hybrid`) with weights
searched on the same validation cases (a coarse grid, then single-weight refinements). The
winner is the setting with the best validation NDCG@k. Candidates: popularity, trending,
Markov, item-kNN, session-kNN, SLIST, ALS, BPR, and the content model when the items carry
text. When the blend wins, a learned re-ranker of its best items (:mod:`stacking`) is
trained on ``1 - RANKER_HOLDOUT`` of the validation cases and kept only when it beats the
blend on the rest (:func:`held_out_rows`); kept, it is retrained on all of them.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopmind.evaluation.ranking import Cases, batch_metrics, evaluate_scores
from shopmind.evaluation.splits import Split, subsample
from shopmind.evaluation.topk import top_k
from shopmind.features.sequences import Sequences
from shopmind.models.recommend.base import Prefitted, Recommender
from shopmind.models.recommend.hybrid import Component, Hybrid, HybridConfig, scaled
from shopmind.models.recommend.registry import model_class
from shopmind.models.recommend.sequential import SequentialConfig
from shopmind.models.recommend.stacking import LearnedRanker, RankerConfig, build_training

#: Families tried by default and their grids (values tried one parameter at a time).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "popularity": {},
    "trending": {"half_life_days": [1.0, 7.0, 30.0]},
    "markov": {
        "window": [1, 3, 5],
        "normalize": ["row", "sqrt", "none"],
        "backward": [0.0, 0.3],
        "history_len": [1, 3, 5],
        "repeat": [0.3, 0.6],
        "recency": [0.35, 0.7],  # half-lives as shares of the training period
    },
    "itemknn": {
        "similarity": ["bm25", "cosine"],
        "neighbours": [50, 200],
        "history_decay": [1.0, 0.7],
        "recency": [0.35, 0.7],
    },
    "sknn": {
        "neighbours": [100, 500],
        "weighting": ["linear", "harmonic"],
        "idf_weight": [0.0, 1.0],
        "repeat": [0.3, 0.6],
        "recency": [0.35, 0.7],
    },
    # each fit inverts a dense items x items matrix (about a minute for 12k items), so the
    # grid only holds the settings that change the learned weights most
    "slist": {
        "alpha": [0.5],
        "regularization": [20.0],
        "history_decay": [0.7],  # scoring-only settings: no refit
        "history_len": [10],
        "repeat": [0.3, 0.6],
    },
    "als": {
        "factors": [128],
        "regularization": [1.0],
        "alpha": [8.0],
    },
    # BPR is tried with its defaults only: with a grid it was the costliest family on Online
    # Retail and never entered a blend there, on Amazon Beauty or on Diginetica
    "bpr": {},
    "content": {},
    # a blend component: tuned on its own it would prefer a popularity boost that the blend
    # does not need (Amazon Beauty validation: 0.0712 without, 0.0706 with 0.25), so its
    # defaults are kept
    "attributes": {},
}
#: Settings read only when scoring: trying them reuses the fitted state instead of refitting.
SCORING_ONLY: dict[str, set[str]] = {
    "markov": {"history_len", "history_decay", "repeat", "backfill"},
    "itemknn": {"history_len", "history_decay", "backfill"},
    "sknn": {"neighbours", "weighting", "cosine", "repeat", "history_len", "backfill", "recency"},
    "slist": {"history_len", "history_decay", "repeat", "backfill"},
    "attributes": {"history_len", "history_decay", "popularity", "backfill"},
}
DEFAULT_FAMILIES = (
    "popularity",
    "trending",
    "markov",
    "itemknn",
    "sknn",
    "slist",
    "als",
    "bpr",
    "content",
    "attributes",
)
#: the neural family trained with ``neural_seconds``, by the kind of histories: SASRec for
#: users' long histories (Kang & McAuley 2018), GRU4Rec for anonymous sessions (Hidasi et al.
#: 2016, with their single 100-unit GRU layer and light dropout for short sessions)
NEURAL_FAMILIES = {"users": ("sasrec",), "sessions": ("gru4rec",)}
NEURAL_SESSION_CONFIG = {"hidden": 100, "layers": 1, "dropout": 0.2}
NEURAL_STOPPING_CASES = 5_000  # validation cases checked between epochs
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
FINE_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)  # tried one weight at a time after the grid
REFINE_PASSES = 2
#: families in the coarse blend grid (4^(BLEND_SIZE - 1) weight vectors in one pass); the
#: other personalised families may join in the one-weight-at-a-time refinement
BLEND_SIZE = 4
#: validation cases the re-ranker learns from (drawn at random beyond that, order kept) and
#: the share of them it is judged on before it is kept (:func:`held_out_rows`)
RANKER_CASES = 100_000
RANKER_HOLDOUT = 0.2
#: scored cells (cases x items) for the re-ranker's cases, at least RANKER_MIN_CASES cases
RANKER_CELLS = 4e9
RANKER_MIN_CASES = 10_000

Progress = Callable[[str], None]


@dataclass
class Selection:
    name: str
    config: dict[str, Any]
    validation_ndcg: float
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    prefitted: Prefitted = field(default_factory=dict)


#: Scored cells (cases x items) per validation pass: bounds selection time on big catalogues.
VALIDATION_CELLS = 4e8


def validation_size(max_cases: int | None, n_items: int) -> int | None:
    """Validation cases to score: ``max_cases``, fewer for big catalogues (at least 5,000)."""
    if max_cases is None:
        return None
    return int(min(max_cases, max(5_000, VALIDATION_CELLS / max(n_items, 1))))


def validation_ndcg(model: Recommender, cases: Cases, k: int, exclude_seen: bool = True) -> float:
    result = evaluate_scores(model.score, cases, model.n_items_, (k,), exclude_seen=exclude_seen)
    return float(result["metrics"][f"ndcg@{k}"])


def applicable(name: str, data: Sequences) -> str | None:
    """Why family ``name`` cannot learn from ``data`` (None when it can)."""
    return model_class(name).missing_input(data)


def _scoring_only(name: str, fitted: Recommender, trial: Recommender) -> bool:
    """True when ``trial`` differs from ``fitted`` only in settings read at scoring time."""
    before, after = fitted.config.model_dump(), trial.config.model_dump()
    changed = {key for key in after if after[key] != before.get(key)}
    return bool(changed) and changed <= SCORING_ONLY.get(name, set())


def tune_family(
    name: str,
    split: Split,
    cases: Cases,
    k: int,
    log: Progress,
    exclude_seen: bool = True,
    grid: dict[str, list[Any]] | None = None,
) -> tuple[dict, float, Recommender]:
    grid = GRIDS.get(name, {}) if grid is None else grid
    best_config: dict[str, Any] = {}
    started = time.perf_counter()
    best_model = model_class(name)().fit(split.tune_data, cases)
    best = validation_ndcg(best_model, cases, k, exclude_seen)
    log(f"{name} {_settings(best_config)} ndcg@{k}={best:.4f}")
    for param, values in grid.items():
        if param == "repeat" and exclude_seen:
            continue  # re-visit weights only matter when seen items may be recommended
        for value in values:
            trial = {**best_config, param: value}
            model = model_class(name)(**trial)
            if model.config == best_model.config:
                continue  # the setting already measured
            if _scoring_only(name, best_model, model):
                model = copy.copy(best_model)  # same learned state, other scoring settings
                model.config = model.config_class.model_validate(trial)
            else:
                model.fit(split.tune_data, cases)
            score = validation_ndcg(model, cases, k, exclude_seen)
            log(f"{name} {_settings(trial)} ndcg@{k}={score:.4f}")
            if score > best:
                best, best_config, best_model = score, trial, model
    log(f"{name}: best {_settings(best_config)} ({time.perf_counter() - started:.0f}s)")
    return best_config, best, best_model


def _settings(config: dict[str, Any]) -> str:
    """A configuration for progress lines: ``similarity=cosine window=3`` (defaults: "defaults")."""
    return " ".join(f"{k}={v}" for k, v in config.items()) or "defaults"


def _blend_scores(
    models: list[Recommender],
    cases: Cases,
    k: int,
    grid: list[tuple[float, ...]],
    exclude_seen: bool,
) -> np.ndarray:
    """Mean validation NDCG@k of each weight vector in ``grid`` (one scoring pass)."""
    totals = np.zeros(len(grid))
    for start in range(0, len(cases), 1024):
        histories = cases.histories[start : start + 1024]
        keys = cases.keys[start : start + 1024]
        targets = cases.targets[start : start + 1024]
        # a model weighted 0 in every vector of this pass is not scored
        parts: list[np.ndarray | None] = [
            scaled(m.score(histories, keys)) if any(w[i] > 0 for w in grid) else None
            for i, m in enumerate(models)
        ]
        for g, weights in enumerate(grid):
            scores = sum(
                w * p for w, p in zip(weights, parts, strict=True) if w > 0 and p is not None
            )
            excluded = histories if exclude_seen else None
            top, _ = top_k(np.array(scores, dtype=np.float32), k, exclude=excluded)
            totals[g] += batch_metrics(top, targets, k)["ndcg"].sum()
    return totals / max(len(cases), 1)


def blend_search(
    models: list[Recommender],
    cases: Cases,
    k: int,
    exclude_seen: bool = True,
    coarse: int | None = None,
) -> tuple[list[float], float]:
    """The best weight vector (first model weight 1) on validation NDCG@k: every vector of
    the coarse grid ``BLEND_WEIGHTS`` over the first ``coarse`` models (all by default; the
    others start at 0) in one pass, then up to ``REFINE_PASSES`` passes that each try every
    single-weight move of any model to a ``FINE_WEIGHTS`` value and keep the best move (a
    small weight for a weak model often adds a little; a model outside the coarse grid,
    such as the catalogue-attributes one, joins here)."""
    n_coarse = len(models) if coarse is None else max(1, min(coarse, len(models)))
    rest = (0.0,) * (len(models) - n_coarse)
    grid = [(1.0, *head, *rest) for head in itertools.product(BLEND_WEIGHTS, repeat=n_coarse - 1)]
    scores = _blend_scores(models, cases, k, grid, exclude_seen)
    best_index = int(np.argmax(scores))
    best, best_score = grid[best_index], float(scores[best_index])
    scored = set(grid)  # none of these beats ``best``: a move to one is not scored again
    for _ in range(REFINE_PASSES):
        moves = [
            move
            for i in range(1, len(best))
            for value in FINE_WEIGHTS
            if (move := (*best[:i], value, *best[i + 1 :])) not in scored
        ]
        if not moves:
            break
        scored.update(moves)
        scores = _blend_scores(models, cases, k, moves, exclude_seen)
        top = int(np.argmax(scores))
        if scores[top] <= best_score:
            break
        best, best_score = moves[top], float(scores[top])
    return list(best), best_score


def select_model(
    split: Split,
    k: int = 10,
    families: tuple[str, ...] = DEFAULT_FAMILIES,
    max_cases: int | None = 20_000,
    log: Progress = lambda _: None,
    seed: int = 0,
    exclude_seen: bool = True,
    neural: tuple[str, ...] | None = None,
    neural_seconds: float | None = None,
) -> Selection:
    """Tune each family, then blend the best; ``exclude_seen`` as the answers will be used.

    With ``neural_seconds``, the ``neural`` families (default: ``NEURAL_FAMILIES`` for the
    data's kind) also train, each for at most that long (early stopping on the same
    validation cases), and may join the blend. A neural model is not refit: it keeps the
    weights trained here (the SASRec protocol). Off by default: on 2 CPU cores SASRec needs
    about an hour to match the fast models on Amazon Beauty.
    """
    cases = subsample(split.validation, validation_size(max_cases, split.fit_data.n_items), seed)
    board: list[dict[str, Any]] = []
    tuned: list[tuple[str, dict, float, Recommender]] = []
    for name in families:
        skip = applicable(name, split.tune_data)
        if skip is not None:
            log(f"{name}: skipped ({skip})")
            continue
        started = time.perf_counter()
        config, score, model = tune_family(name, split, cases, k, log, exclude_seen)
        seconds = round(time.perf_counter() - started, 1)
        board.append(
            {"model": name, "config": config, f"validation_ndcg@{k}": score, "seconds": seconds}
        )
        tuned.append((name, config, score, model))
    prefitted: Prefitted = {}
    if neural is None:
        neural = NEURAL_FAMILIES.get(split.tune_data.kind, ())
    for name in neural if neural_seconds and neural_seconds > 0 else ():
        minutes = float(neural_seconds or 0) / 60
        model = model_class(name)(**neural_config(split.tune_data), max_minutes=minutes)
        model.progress = log
        model.fit(split.tune_data, subsample(cases, NEURAL_STOPPING_CASES, seed))
        score = validation_ndcg(model, cases, k, exclude_seen)
        config = model.config.model_dump(exclude={"max_minutes"})
        board.append({"model": name, "config": config, f"validation_ndcg@{k}": score})
        tuned.append((name, config, score, model))
        prefitted[name] = model
    tuned.sort(key=lambda t: -t[2])
    winner = Selection(tuned[0][0], tuned[0][1], tuned[0][2], board, prefitted=prefitted)
    blendable = [t for t in tuned if model_class(t[0]).personalised]
    if len(blendable) >= 2:
        models = [t[3] for t in blendable]
        weights, score = blend_search(models, cases, k, exclude_seen, coarse=BLEND_SIZE)
        config = HybridConfig(
            components=[
                Component(name=t[0], config=t[1], weight=w)
                for t, w in zip(blendable, weights, strict=True)
                if w > 0
            ]
        ).model_dump()
        board.append({"model": "hybrid", "config": config, f"validation_ndcg@{k}": score})
        log(f"hybrid weights {weights} ndcg@{k}={score:.4f}")
        if score > winner.validation_ndcg and sum(w > 0 for w in weights) > 1:
            blend = Hybrid(HybridConfig.model_validate(config))
            blend.reuse = {t[0]: t[3] for t in blendable}  # the tuned models, not refit
            blend.fit(split.tune_data)
            ranker, row = learn_ranker(blend, split, k, exclude_seen, log, seed)
            board.append(row)
            if ranker is not None:
                config = {**config, "ranker": ranker.config.model_dump()}
                prefitted["ranker"] = ranker
            winner = Selection("hybrid", config, score, board, prefitted=prefitted)
    return winner


def held_out_rows(n_cases: int, sessions: bool, seed: int = 0) -> np.ndarray:
    """Which validation cases judge the re-ranker (bool mask, ``RANKER_HOLDOUT`` of them):
    for sessions the newest (prefixes come in session start order), for users a random
    share (their cases come in user order, which may follow anything)."""
    held = np.zeros(n_cases, dtype=bool)
    n_held = round(n_cases * RANKER_HOLDOUT)
    if sessions:
        held[n_cases - n_held :] = True
    else:
        held[np.random.default_rng(seed).choice(n_cases, size=n_held, replace=False)] = True
    return held


def learn_ranker(
    blend: Hybrid,
    split: Split,
    k: int,
    exclude_seen: bool,
    log: Progress,
    seed: int = 0,
    config: RankerConfig | None = None,
) -> tuple[LearnedRanker | None, dict[str, Any]]:
    """A re-ranker of the candidates of ``blend`` (a :class:`Hybrid` fitted on the tuning
    data), learned on the validation cases but a held-out ``RANKER_HOLDOUT`` (:func:`held_out_rows`)
    and kept when its NDCG@k there beats the blend's on the same cases (then retrained on
    all); with its leaderboard row (``kept``; ``skipped`` says why when too few cases had a
    target among the candidates). ``config``: the ranker's settings (default
    :class:`RankerConfig`'s), ``exclude_seen`` and ``seed`` set from the arguments."""
    started = time.perf_counter()
    config = (config or RankerConfig()).model_copy(
        update={"exclude_seen": exclude_seen, "seed": seed}
    )
    limit = int(min(RANKER_CASES, max(RANKER_MIN_CASES, RANKER_CELLS / split.fit_data.n_items)))
    cases = subsample(split.validation, limit, seed)
    row: dict[str, Any] = {"model": "hybrid+ranker", "config": config.model_dump(), "kept": False}
    log(f"re-ranker: scoring the blend's {config.candidates} best items on {len(cases)} cases")
    top, features, labels = build_training(blend.parts_of, cases, blend.popularity_, config)
    held = held_out_rows(len(cases), split.name == "sessions", seed)
    learnable = int(labels[~held].any(axis=1).sum())
    if learnable < config.min_cases or held.all() or not held.any():
        row["skipped"] = (
            f"{learnable} validation cases with a target among the candidates "
            f"(needs {config.min_cases})"
        )
        log(f"re-ranker: skipped ({row['skipped']})")
        row["seconds"] = round(time.perf_counter() - started, 1)
        return None, row
    trial = LearnedRanker(config).fit(features[~held], labels[~held])
    targets = [cases.targets[i] for i in np.flatnonzero(held)]
    blend_ndcg = float(batch_metrics(top[held], targets, k)["ndcg"].mean())
    ranked, _ = trial.order(top[held], features[held])
    ranker_ndcg = float(batch_metrics(ranked, targets, k)["ndcg"].mean())
    kept = ranker_ndcg > blend_ndcg
    log(
        f"re-ranker: ndcg@{k}={ranker_ndcg:.4f} against the blend's {blend_ndcg:.4f} on "
        f"{int(held.sum())} held-out cases: {'kept' if kept else 'not kept'}"
    )
    row.update(
        {
            f"held_out_ndcg@{k}": ranker_ndcg,
            f"blend_held_out_ndcg@{k}": blend_ndcg,
            "held_out_cases": int(held.sum()),
            "kept": kept,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return (LearnedRanker(config).fit(features, labels) if kept else None), row


def neural_config(data: Sequences) -> dict[str, Any]:
    """Settings for a neural family on ``data``: for sessions ``NEURAL_SESSION_CONFIG`` and
    windows as long as the 99th-percentile session (at most the default 50), so that short
    sessions are not padded to 50 positions; none for users' histories."""
    if data.kind != "sessions":
        return {}
    lengths = data.lengths()
    longest = int(np.percentile(lengths[lengths > 0], 99)) if (lengths > 0).any() else 2
    default = int(SequentialConfig.model_fields["max_len"].default)
    return {**NEURAL_SESSION_CONFIG, "max_len": min(default, max(2, longest))}


def build(name: str, config: dict[str, Any]) -> Recommender:
    if name == "hybrid":
        return Hybrid(HybridConfig.model_validate(config))
    return model_class(name)(**config)
