"""Model selection uses validation only, respects its time budget, adopts neural models."""

from __future__ import annotations

import numpy as np

from shopmind.evaluation.splits import loo_split, session_split
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.select import NEURAL_SESSION_CONFIG, neural_config, select_model
from shopmind.models.recommend.workflow import final_fit


def _chains(n_users: int = 60, n_items: int = 30, seed: int = 0, kind: str = "users"):
    """Each user (or session) walks a fixed cycle from a random start: the next item is
    predictable."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(n_users):
        start = int(rng.integers(n_items))
        sequences.append([f"i{(start + step) % n_items}" for step in range(8)])
    return from_lists(sequences, kind=kind)


def test_selection_prefers_sequential_models_on_sequential_data() -> None:
    split = loo_split(_chains())
    messages: list[str] = []
    selection = select_model(split, k=5, log=messages.append)
    assert selection.name in {"markov", "hybrid", "sknn"}
    names = [row["model"] for row in selection.leaderboard]
    assert {"popularity", "markov", "itemknn", "sknn"} <= set(names)
    best = max(r["validation_ndcg@5"] for r in selection.leaderboard if "validation_ndcg@5" in r)
    assert selection.validation_ndcg == best
    assert any("markov" in m for m in messages)


def test_neural_models_only_join_when_given_time() -> None:
    split = loo_split(_chains())
    fast = select_model(split, k=5)
    assert "sasrec" not in {row["model"] for row in fast.leaderboard}
    assert not fast.prefitted
    with_neural = select_model(split, k=5, neural_seconds=60)
    assert "sasrec" in {row["model"] for row in with_neural.leaderboard}
    assert with_neural.prefitted["sasrec"].best_epoch_ >= 1


def test_adopted_model_answers_from_full_histories() -> None:
    data = _chains()
    split = loo_split(data)
    selection = select_model(split, k=5)
    model = final_fit(selection.name, selection.config, data, selection.prefitted, print)
    assert model.data_ is data
    user = str(data.keys[0])
    last = data.seq(0)[-1]
    recs = model.recommend([user], k=1)[0]
    assert recs[0][0] == f"i{(int(str(data.item_ids[last])[1:]) + 1) % 30}"


def _popular_noise(n_users: int = 200, n_items: int = 40, seed: int = 1):
    """Chains as above, but every user also visits a few very popular items at random points:
    popularity alone is a poor guess, Markov a good one, and only a heavy Markov weight
    lets the next item beat the popular ones in a blend."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(n_users):
        start = int(rng.integers(n_items))
        walk = [f"i{(start + step) % n_items}" for step in range(6)]
        for _ in range(2):
            walk.insert(int(rng.integers(1, len(walk))), f"hot{int(rng.integers(3))}")
        sequences.append(walk)
    return from_lists(sequences)


def test_blend_refinement_goes_beyond_the_coarse_grid() -> None:
    from shopmind.evaluation.splits import subsample
    from shopmind.models.recommend.markov import Markov
    from shopmind.models.recommend.popularity import Popularity
    from shopmind.models.recommend.select import (
        BLEND_WEIGHTS,
        _blend_scores,
        blend_search,
    )

    split = loo_split(_popular_noise())
    cases = subsample(split.validation, None, 0)
    models = [Popularity().fit(split.tune_data, cases), Markov().fit(split.tune_data, cases)]
    coarse = _blend_scores(models, cases, 5, [(1.0, w) for w in BLEND_WEIGHTS], True)
    weights, score = blend_search(models, cases, 5)
    assert score > coarse.max()  # the refinement found a better weight than the grid has
    assert weights[1] not in BLEND_WEIGHTS
    # the reported score is the one of the returned weights
    assert np.isclose(_blend_scores(models, cases, 5, [tuple(weights)], True)[0], score)


def _session_cycles(n_sessions: int = 120, n_items: int = 20, seed: int = 0):
    """Anonymous sessions of 2 to 6 steps along one cycle of items."""
    rng = np.random.default_rng(seed)
    sessions = []
    for _ in range(n_sessions):
        start, length = int(rng.integers(n_items)), int(rng.integers(2, 7))
        sessions.append([f"i{(start + step) % n_items}" for step in range(length)])
    return from_lists(sessions, kind="sessions")


def test_sessions_train_the_session_neural_family_with_short_windows() -> None:
    sessions = _session_cycles()
    config = neural_config(sessions)
    assert {k: config[k] for k in NEURAL_SESSION_CONFIG} == NEURAL_SESSION_CONFIG
    assert config["max_len"] == 6  # the 99th-percentile session, not the default 50
    assert neural_config(_chains()) == {}  # users' histories keep the model's defaults
    selection = select_model(session_split(sessions), k=5, neural_seconds=60)
    names = {row["model"] for row in selection.leaderboard}
    assert "gru4rec" in names and "sasrec" not in names
    assert selection.prefitted["gru4rec"].config.max_len == 6
