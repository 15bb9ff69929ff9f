"""Train / evaluate / load recommenders against a workspace (what the CLI and server call).

Models live in ``<workspace>/models/recommend/<name>.pkl`` (learned state, no users'
histories: :func:`load_model` attaches the workspace's); ``default.json`` names the model
``recommend train`` chose, with its validation leaderboard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from shopmind.errors import NotFittedError
from shopmind.evaluation.diversity import customer_segments
from shopmind.evaluation.ranking import evaluate_scores
from shopmind.evaluation.splits import Split, make_split, subsample
from shopmind.features.sequences import Sequences, load_sequences
from shopmind.models.recommend.base import Prefitted, Recommender
from shopmind.models.recommend.registry import model_class
from shopmind.models.recommend.rules import BusinessRules, diversity_setup
from shopmind.models.recommend.select import (
    GRIDS,
    build,
    select_model,
    tune_family,
    validation_size,
)
from shopmind.store import Workspace

Log = Callable[[str], None]
DEFAULT = "default"


def model_dir(workspace: Workspace) -> Path:
    return workspace.models_dir / "recommend"


def model_path(workspace: Workspace, name: str) -> Path:
    return model_dir(workspace) / f"{name}.pkl"


def read_sequences(workspace: Workspace) -> Sequences:
    with workspace.connect(read_only=True) as con:
        return load_sequences(con)


def default_pointer(workspace: Workspace) -> Path:
    """``models/recommend/default.json``: the training summary of the default model."""
    return model_dir(workspace) / "default.json"


def default_summary(workspace: Workspace) -> dict[str, Any] | None:
    """The default model's training summary (model, config, kind, keys, items, interactions,
    split, k, validation, seconds), or None when no recommender was trained."""
    pointer = default_pointer(workspace)
    if not pointer.exists():
        return None
    return dict(json.loads(pointer.read_text(encoding="utf-8")))


def set_default(workspace: Workspace, summary: dict[str, Any], replace: bool = True) -> bool:
    """Make the model of ``summary`` the default (``replace=False``: only when none is set
    yet); True when the pointer was written."""
    pointer = default_pointer(workspace)
    if not replace and pointer.exists():
        return False
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(json.dumps(summary, default=str), encoding="utf-8")
    return True


def default_name(workspace: Workspace) -> str:
    summary = default_summary(workspace)
    if summary is None:
        raise NotFittedError(
            "No recommender has been trained in this workspace.",
            hint="Train one: `shopmind recommend train`.",
        )
    return str(summary["model"])


def load_model(
    workspace: Workspace, name: str | None, con: duckdb.DuckDBPyConnection | None = None
) -> Recommender:
    """The named model, or the default one when ``name`` is None, answering from the
    workspace's current histories (read as for training: ``load_sequences``).

    The histories are read on first use through a read-only connection, or at once
    through ``con`` (a process that holds the workspace's write connection passes it)."""
    if name is not None:
        model_class(name)  # unknown names fail with the list of choices
    chosen = name or default_name(workspace)
    path = model_path(workspace, chosen)
    if not path.exists():
        raise NotFittedError(
            f"The {chosen} recommender is not trained in this workspace.",
            hint=f"Train it: `shopmind recommend train --model {chosen}`.",
        )
    model = Recommender.load(path)
    if con is not None:
        return model.attach(load_sequences(con))
    return model.attach(lambda: read_sequences(workspace))


def batch_keys(workspace: Workspace, recommender: Recommender) -> tuple[list[str], int, str]:
    """The keys a batch of lists is for: the model's customers (its keys that are user ids),
    and how many of the workspace's users are not among them (no item the model learnt
    from: e.g. Online Retail customers who bought only postage or bank charges).

    A model trained on users and anonymous sessions (e.g. Online Retail's invoices without a
    customer, keyed by session) learns from both, but only known customers get lists; a
    model trained on sessions alone (no user ids anywhere) answers for its sessions.

    The third value names what the keys are: ``"users"`` or ``"sessions"``."""
    keys = [str(k) for k in recommender.data_.keys]
    with workspace.connect(read_only=True) as con:
        users = {
            str(r[0])
            for r in con.execute("SELECT user_id FROM users WHERE user_id IS NOT NULL").fetchall()
        }
    known = [k for k in keys if k in users]
    return (known, len(users) - len(known), "users") if known else (keys, 0, "sessions")


def choose(
    split: Split,
    name: str | None,
    k: int,
    overrides: dict[str, Any],
    log: Log,
    exclude_seen: bool,
    max_cases: int | None,
    neural_seconds: float | None = None,
) -> tuple[str, dict[str, Any], dict, Prefitted]:
    """Pick (model, config) on the validation split; ``name=None`` runs model selection.

    Also returns what learned on the validation cases and is adopted later, not refit: the
    neural models selection trained, a hybrid's re-ranker (``Recommender.carried``)."""
    if name is None:
        selection = select_model(
            split,
            k,
            log=log,
            exclude_seen=exclude_seen,
            max_cases=max_cases,
            neural_seconds=neural_seconds,
        )
        return (
            selection.name,
            selection.config,
            {"validation_ndcg": selection.validation_ndcg, "leaderboard": selection.leaderboard},
            selection.prefitted,
        )
    model_class(name)
    cases = subsample(split.validation, validation_size(max_cases, split.fit_data.n_items))
    if name in GRIDS and not overrides:
        config, score, _ = tune_family(name, split, cases, k, log, exclude_seen)
        return name, config, {"validation_ndcg": score}, {}
    model = build(name, overrides)
    model.progress = log
    model.fit(split.tune_data, cases)
    config = {**overrides, **model.refit_overrides()}
    return name, config, {"validation_ndcg": model.best_validation_}, model.carried()


def final_fit(
    name: str, config: dict[str, Any], data: Sequences, prefitted: Prefitted, log: Log
) -> Recommender:
    """Refit the chosen setting on ``data``; neural models from selection are adopted, and a
    hybrid adopts the re-ranker selection trained (``prefitted["ranker"]``)."""
    known = prefitted.get(name)
    if isinstance(known, Recommender):
        return known.adopt(data)
    model = build(name, config)
    model.reuse = prefitted
    model.progress = log
    return model.fit(data)


def train(
    workspace: Workspace,
    name: str | None = None,
    *,
    split_kind: str = "loo",
    k: int = 10,
    overrides: dict[str, Any] | None = None,
    log: Log = lambda _: None,
    max_cases: int | None = 20_000,
    test_days: float = 30.0,
    neural_minutes: float = 0.0,
) -> dict[str, Any]:
    """Choose on validation, refit on all the data, save; ``name=None`` sets the default."""
    started = time.perf_counter()
    data = read_sequences(workspace)
    exclude_seen = data.kind == "users"
    split = make_split(data, split_kind, test_days, exclude_seen)
    chosen, config, validation, prefitted = choose(
        split, name, k, dict(overrides or {}), log, exclude_seen, max_cases, neural_minutes * 60
    )
    log(f"refit {chosen} on all {data.n_interactions} interactions")
    model = final_fit(chosen, config, data, prefitted, log)
    path = model.save(model_path(workspace, chosen))
    summary = {
        "model": chosen,
        "config": model.config.model_dump(),
        "path": str(path),
        "kind": data.kind,
        "keys": data.n_keys,
        "items": data.n_items,
        "interactions": data.n_interactions,
        "split": split_kind,
        "k": k,
        "validation": validation,
        "seconds": round(time.perf_counter() - started, 2),
    }
    set_default(workspace, summary, replace=name is None)
    return summary


def evaluate(
    workspace: Workspace,
    name: str | None = None,
    *,
    split_kind: str = "loo",
    k: int = 10,
    exclude_seen: bool | None = None,
    sampled: int | None = None,
    overrides: dict[str, Any] | None = None,
    test_days: float = 30.0,
    log: Log = lambda _: None,
    max_cases: int | None = 20_000,
    neural_minutes: float = 0.0,
    rules: BusinessRules | None = None,
) -> dict[str, Any]:
    """Tune on validation, refit on train+validation, report full-ranking test metrics
    (of the lists after the diversity re-rank of ``rules``, when given)."""
    started = time.perf_counter()
    data = read_sequences(workspace)
    exclude = (data.kind == "users") if exclude_seen is None else exclude_seen
    split = make_split(data, split_kind, test_days, exclude)
    chosen, config, validation, prefitted = choose(
        split, name, k, dict(overrides or {}), log, exclude, max_cases, neural_minutes * 60
    )
    log(f"refit {chosen} on the training part; testing {len(split.test)} cases")
    fit_started = time.perf_counter()
    model = final_fit(chosen, config, split.fit_data, prefitted, log)
    fit_seconds = time.perf_counter() - fit_started
    # share of training sequences holding each item (novelty's popularity)
    share = np.asarray(split.fit_data.user_item_matrix().sum(axis=0)).ravel() / max(data.n_keys, 1)
    ks = sorted({k, 10, 20})
    rerank, similarity = diversity_setup(workspace, split.fit_data, rules)
    result = evaluate_scores(
        model.score,
        split.test,
        data.n_items,
        ks,
        exclude_seen=exclude,
        sampled=sampled,
        popularity=share,
        rerank=rerank,
        similarity=similarity,
        groups=(
            customer_segments(workspace, data.keys[split.test.keys])
            if data.kind == "users"
            else None
        ),
    )
    result.update(
        {
            "model": chosen,
            "diversity": rules.model_dump(include={"max_per_category", "mmr_lambda"})
            if rules is not None and rerank
            else None,
            "config": model.config.model_dump(),
            "split": split_kind,
            "k": k,
            "exclude_seen": exclude,
            "protocol": f"full ranking over all {data.n_items} items"
            + (f"; sampled metrics use {sampled} random negatives" if sampled else ""),
            "validation": validation,
            "fit_seconds": round(fit_seconds, 2),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    out = workspace.reports_dir / f"recommend_eval_{chosen}_{split_kind}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, default=str, indent=1))
    result["saved"] = str(out)
    return result
