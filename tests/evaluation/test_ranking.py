"""Ranking metrics and splits: hand-computed values, no leakage of test targets."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.evaluation.ranking import Cases, batch_metrics, evaluate_scores
from shopmind.evaluation.splits import loo_split, session_split, temporal_split
from shopmind.features.sequences import from_lists


def test_metrics_match_hand_computed_values() -> None:
    top = np.array([[3, 1, 2], [0, 4, 5], [7, 8, 9]])
    metrics = batch_metrics(top, [np.array([1]), np.array([0, 5]), np.array([6])], k=3)
    assert metrics["hr"].tolist() == [1, 1, 0]
    assert metrics["mrr"].tolist() == [0.5, 1, 0]
    assert metrics["recall"].tolist() == [1, 1, 0]
    assert metrics["ndcg"][0] == pytest.approx(1 / np.log2(3))
    ideal = 1 + 1 / np.log2(3)
    assert metrics["ndcg"][1] == pytest.approx((1 + 1 / np.log2(4)) / ideal)


def test_full_ranking_excludes_history_and_reports_coverage() -> None:
    n_items = 6
    cases = Cases(
        [np.array([0]), np.array([1])], np.array([-1, -1]), [np.array([0]), np.array([2])]
    )

    def score(histories, keys):  # item 0 best, then 1, 2...
        return np.tile(-np.arange(n_items, dtype=np.float32), (len(histories), 1))

    result = evaluate_scores(score, cases, n_items, (1,), exclude_seen=True)
    # case 1: item 0 is its history, so the list is [1] and the target 0 is missed
    assert result["metrics"]["hr@1"] == 0.0
    kept = evaluate_scores(score, cases, n_items, (1,), exclude_seen=False)
    assert kept["metrics"]["hr@1"] == 0.5
    assert kept["metrics"]["coverage@1"] == pytest.approx(1 / 6)
    sampled = evaluate_scores(score, cases, n_items, (1,), sampled=3)
    assert "sampled3_hr@1" in sampled["metrics"]


def test_loo_split_never_trains_on_test_targets() -> None:
    data = from_lists([["a", "b", "c", "d"], ["c", "d", "e"], ["x", "y"]])
    split = loo_split(data)
    assert len(split.test) == 2 and len(split.validation) == 2
    for case, target in zip(split.test.keys, split.test.targets, strict=True):
        assert split.fit_data.seq(case)[-1] != target[0] or len(split.fit_data.seq(case)) == 0
        assert len(split.fit_data.seq(case)) == len(data.seq(case)) - 1
    for case, target in zip(split.validation.keys, split.validation.targets, strict=True):
        assert len(split.tune_data.seq(case)) == len(data.seq(case)) - 2
        assert target[0] == data.seq(case)[-2]
    assert len(split.fit_data.seq(2)) == 2  # too short to test: kept whole for training


def test_temporal_split_uses_only_the_past() -> None:
    data = from_lists([["a", "b", "c", "d", "e", "f"]])
    day = 86_400
    data.times = np.array([0, 1, 2, 3, 4, 5]) * 10 * day
    split = temporal_split(data, test_days=15)
    assert split.fit_data.times.max() < data.times.max() - 15 * day + 1
    index = data.item_index()
    # newest event at day 50: test = days (35, 50], validation = days [20, 35)
    assert split.test.targets[0].tolist() == sorted([index["e"], index["f"]])
    assert split.validation.targets[0].tolist() == sorted([index["c"], index["d"]])
    assert split.tune_data.times.max() < 20 * day


def test_session_split_holds_out_the_newest_sessions_with_every_prefix() -> None:
    sessions = [[f"i{j}", f"i{j + 1}", f"i{j + 2}"] for j in range(20)]
    data = from_lists(sessions, kind="sessions")
    split = session_split(data, share=0.1)
    # newest 2 sessions are test, the 2 before validation; each gives 2 prefixes
    assert len(split.test) == 4 and len(split.validation) == 4
    assert [len(h) for h in split.test.histories] == [1, 2, 1, 2]
    assert split.fit_data.seq(19).size == 0 and split.fit_data.seq(17).size == 3
    assert split.tune_data.seq(17).size == 0 and split.tune_data.seq(15).size == 3
    assert split.test.targets[1].tolist() == [data.item_index()["i20"]]
