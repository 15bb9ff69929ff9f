"""The learned re-ranker: its history features, what it learns that a blend cannot, how
selection keeps it, and that it survives save / load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shopmind.errors import RecommendError
from shopmind.evaluation.ranking import evaluate_scores
from shopmind.evaluation.splits import loo_split, session_split
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.hybrid import Component, Hybrid, HybridConfig
from shopmind.models.recommend.select import held_out_rows, learn_ranker, select_model
from shopmind.models.recommend.stacking import (
    LearnedRanker,
    RankerConfig,
    history_positions,
    reranked_scores,
)
from shopmind.models.recommend.workflow import final_fit
from tests.conftest import ingest_lines, run_cli
from tests.models.recommend.test_select import _chains

#: small enough for a few hundred validation cases
SMALL = RankerConfig(exclude_seen=False, min_cases=50, trees=60)


def test_history_positions_count_from_the_end() -> None:
    histories = [np.array([3, 1, 3, 2]), np.array([], dtype=np.int64), np.array([0])]
    top = np.array([[3, 2, 1, 0], [3, 2, 1, 0], [0, 1, 2, 3]])
    place, times = history_positions(histories, top, n_items=4)
    # item 3's nearest occurrence is the third from the end, and it occurs twice
    assert place.tolist() == [[2, 1, 3, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    assert times.tolist() == [[2, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]


def test_reranked_scores_put_the_ranker_order_above_the_rest() -> None:
    blend = np.array([[0.9, 0.1, 0.5, 0.3, 0.0]], dtype=np.float32)
    scores = reranked_scores(blend, np.array([[3, 0, 4]]), np.array([[True, True, False]]))
    assert np.argsort(-scores[0]).tolist() == [3, 0, 2, 1, 4]
    assert scores[0, 2] == pytest.approx(0.5 / 0.9)  # the others keep the blend's order
    assert scores[0, 4] == 0.0  # a left-out candidate (a seen item) is not lifted


def _revisits(n_sessions: int = 900, n_items: int = 40, seed: int = 0):
    """Random walks over the items, except that half of the next items go back to the item
    two steps earlier: the neighbourhood models see no pattern in the item pairs, and only
    "it is the second-to-last item of the history" says which re-visit comes."""
    rng = np.random.default_rng(seed)
    sessions = []
    for _ in range(n_sessions):
        items = [int(rng.integers(n_items)), int(rng.integers(n_items))]
        for _ in range(int(rng.integers(4, 9))):
            back = rng.random() < 0.5
            items.append(items[-2] if back else int(rng.integers(n_items)))
        sessions.append([f"i{i}" for i in items])
    return from_lists(sessions, kind="sessions")


def _blend(ranker: RankerConfig | None) -> Hybrid:
    components = [Component(name="markov", weight=1.0), Component(name="sknn", weight=0.5)]
    return Hybrid(HybridConfig(components=components, ranker=ranker))


def test_the_ranker_learns_what_the_blend_misses_and_is_kept() -> None:
    split = session_split(_revisits())
    plain = _blend(None).fit(split.tune_data)
    ranked = _blend(SMALL).fit(split.tune_data, split.validation)
    assert isinstance(ranked.ranker_, LearnedRanker)
    n = split.tune_data.n_items
    metric = "mrr@20"
    before = evaluate_scores(plain.score, split.test, n, (20,), exclude_seen=False)["metrics"]
    after = evaluate_scores(ranked.score, split.test, n, (20,), exclude_seen=False)["metrics"]
    assert after[metric] > before[metric] + 0.15  # measured on test cases neither saw

    # selection: learned on the older validation cases, judged on the newer ones
    blend = _blend(None).fit(split.tune_data)  # Markov + 0.5 x session kNN
    messages: list[str] = []
    kept, row = learn_ranker(blend, split, 10, False, messages.append, config=SMALL)
    assert row["kept"] and kept is not None
    assert row["held_out_ndcg@10"] > row["blend_held_out_ndcg@10"]
    assert any(m.endswith(": kept") for m in messages)


def test_on_sessions_the_ranker_keeps_the_sessions_own_items_as_candidates() -> None:
    """A catalogue bigger than the candidate list: a ranker configured without
    ``exclude_seen`` decides it from the data, and for sessions the re-visits stay in."""
    split = session_split(_revisits(n_sessions=1500, n_items=150, seed=2))
    plain = _blend(None).fit(split.tune_data)
    ranked = _blend(RankerConfig(min_cases=50, trees=60)).fit(split.tune_data, split.validation)
    assert ranked.ranker_ is not None and ranked.ranker_.config.exclude_seen is False
    n = split.tune_data.n_items
    before = evaluate_scores(plain.score, split.test, n, (20,), exclude_seen=False)["metrics"]
    after = evaluate_scores(ranked.score, split.test, n, (20,), exclude_seen=False)["metrics"]
    assert after["mrr@20"] > before["mrr@20"] + 0.15


def test_a_ranker_that_cannot_beat_the_blend_is_not_kept_and_too_few_cases_skip_it() -> None:
    split = session_split(_chains(600, kind="sessions"))  # Markov alone ranks every next item first
    blend = _blend(None).fit(split.tune_data)  # Markov + 0.5 x session kNN
    kept, row = learn_ranker(blend, split, 10, False, lambda _: None, config=SMALL)
    assert row["blend_held_out_ndcg@10"] == pytest.approx(1.0)
    assert kept is None and row["kept"] is False
    few = SMALL.model_copy(update={"min_cases": 10_000})
    kept, row = learn_ranker(blend, split, 10, False, lambda _: None, config=few)
    assert kept is None and "needs 10000" in row["skipped"]


def test_users_held_out_cases_are_a_random_share_sessions_the_newest() -> None:
    sessions = held_out_rows(100, sessions=True)
    assert sessions.sum() == 20 and sessions[80:].all()
    users = held_out_rows(100, sessions=False, seed=1)
    assert users.sum() == 20 and not users[80:].all()
    assert np.array_equal(users, held_out_rows(100, sessions=False, seed=1))


def test_seen_items_left_out_of_a_small_catalogue_are_not_lifted() -> None:
    """Users' histories with ``exclude_seen``: when fewer unseen items than candidates are
    left, the seen ones are not candidates and keep the blend's (lower) scores."""
    rng = np.random.default_rng(4)
    histories = [[f"i{j}" for j in rng.choice(30, size=25, replace=False)] for _ in range(400)]
    data = from_lists(histories)
    split = loo_split(data)
    config = RankerConfig(min_cases=50, trees=20)
    model = _blend(config).fit(split.tune_data, split.validation)
    assert model.ranker_ is not None and model.ranker_.config.exclude_seen is True
    seqs = [split.fit_data.seq(i) for i in range(20)]
    scores = model.score(seqs)
    for row, seen in zip(scores, seqs, strict=True):
        assert (row[seen] <= 1.0).all()  # seen: the blend's order, not lifted
        unseen = np.setdiff1d(np.arange(len(row)), seen)
        assert (row[unseen] > 1.0).all()  # every unseen item is a ranked candidate


def test_a_hybrid_saved_before_rankers_loads_and_scores_as_a_blend(tmp_path: Path) -> None:
    split = session_split(_revisits())
    model = _blend(None).fit(split.tune_data)
    histories = split.test.histories[:50]
    expected = model.score(histories)
    del model.ranker_  # as saved by 0.8.x
    loaded = Recommender.load(model.save(tmp_path / "old.pkl"))
    assert not hasattr(loaded, "ranker_")
    np.testing.assert_array_equal(loaded.score(histories), expected)


def test_a_saved_hybrid_keeps_its_ranker(tmp_path: Path) -> None:
    split = session_split(_revisits())
    model = _blend(SMALL).fit(split.tune_data, split.validation)
    histories = split.test.histories[:50]
    path = model.save(tmp_path / "hybrid.pkl")
    loaded = Recommender.load(path)
    np.testing.assert_array_equal(loaded.score(histories), model.score(histories))
    # a refit on more data adopts the trained ranker instead of needing validation cases
    refit = _blend(SMALL)
    refit.reuse = {"ranker": model.ranker_}
    assert refit.fit(split.fit_data).ranker_ is model.ranker_
    # a ranker learned on other components is refused with a hint
    other = Hybrid(HybridConfig(components=[Component(name="markov")], ranker=SMALL))
    other.reuse = {"ranker": model.ranker_}
    with pytest.raises(RecommendError, match="learned from 2 weighted components"):
        other.fit(split.fit_data)


def test_a_ranker_needs_validation_cases_or_a_trained_one() -> None:
    split = session_split(_revisits(n_sessions=120))
    with pytest.raises(RecommendError, match="validation cases"):
        _blend(SMALL).fit(split.tune_data)
    with pytest.raises(RecommendError, match="needs 5000"):
        _blend(SMALL.model_copy(update={"min_cases": 5000})).fit(split.tune_data, split.validation)


@pytest.mark.slow
def test_selection_keeps_the_ranker_and_the_final_fit_adopts_it() -> None:
    data = _revisits(n_sessions=2500)
    split = session_split(data)
    selection = select_model(split, k=10, exclude_seen=False, families=("markov", "sknn"))
    assert selection.name == "hybrid" and "ranker" in selection.config
    row = next(r for r in selection.leaderboard if r["model"] == "hybrid+ranker")
    assert row["kept"] and row["held_out_ndcg@10"] > row["blend_held_out_ndcg@10"]
    assert selection.validation_ndcg == max(
        r["validation_ndcg@10"] for r in selection.leaderboard if "validation_ndcg@10" in r
    )
    model = final_fit("hybrid", selection.config, split.fit_data, selection.prefitted, print)
    assert model.ranker_ is selection.prefitted["ranker"]
    blend = Hybrid(HybridConfig.model_validate({**selection.config, "ranker": None}))
    blend.fit(split.fit_data)
    n = data.n_items
    with_ranker = evaluate_scores(model.score, split.test, n, (10,), exclude_seen=False)
    without = evaluate_scores(blend.score, split.test, n, (10,), exclude_seen=False)
    assert with_ranker["metrics"]["ndcg@10"] > without["metrics"]["ndcg@10"] + 0.1


@pytest.mark.slow
def test_the_cli_trains_a_hybrid_with_a_ranker_and_answers_with_it(tmp_path: Path) -> None:
    """``recommend train --model hybrid --config`` with a ranker learns it on validation and
    the refit keeps it; ``recommend next`` then ranks the re-visit two steps back first."""
    data = _revisits(n_sessions=1500, seed=3)
    lines = [" ".join(str(data.item_ids[i]) for i in data.seq(s)) for s in range(data.n_keys)]
    ws = tmp_path / "ws"
    ingest_lines(ws, tmp_path / "sessions.txt", lines, "sessions")
    config = {
        "components": [{"name": "markov"}, {"name": "sknn", "weight": 0.5}],
        "ranker": {**SMALL.model_dump(), "min_cases": 100},
    }
    cli = ("--workspace", str(ws), "recommend")
    trained = run_cli(*cli, "train", "--model", "hybrid", "--config", json.dumps(config), "--quiet")
    assert trained.returncode == 0, trained.stderr
    prefixes = tmp_path / "prefixes.txt"
    prefixes.write_text("i5 i17\ni30 i2 i9\n")
    out = tmp_path / "next.csv"
    cmd = ("next", "--model", "hybrid", "--input", str(prefixes), "--k", "1", "--out", str(out))
    answered = run_cli(*cli, *cmd)
    assert answered.returncode == 0, answered.stderr
    firsts = [row.split(",")[2] for row in out.read_text().splitlines()[1:]]
    assert firsts == ["i5", "i2"]
