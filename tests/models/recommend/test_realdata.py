"""Real data, full ranking: the methods beat popularity by a wide margin (measured on test
cases never used for tuning). Published bars are checked by benchmarks/recsys.py."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.evaluation.ranking import Cases, evaluate_scores
from shopmind.evaluation.splits import loo_split, subsample
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.registry import model_class
from tests.conftest import data_file

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_beauty_markov_far_above_popularity_under_loo() -> None:
    path = data_file("amazon_beauty/Beauty.txt")
    lines = [line.split() for line in path.read_text().splitlines()]
    data = from_lists([line[1:] for line in lines], [line[0] for line in lines])
    split = loo_split(data)
    test = subsample(split.test, 8000)
    scores = {}
    for name in ("popularity", "markov"):
        model = model_class(name)().fit(split.fit_data)
        scores[name] = evaluate_scores(model.score, test, data.n_items, (10,))["metrics"]
    assert scores["markov"]["ndcg@10"] > 0.045  # full ranking over 12,101 items
    assert scores["markov"]["ndcg@10"] > 4 * scores["popularity"]["ndcg@10"]


def test_diginetica_session_knn_on_sr_gnn_test_prefixes() -> None:
    folder = data_file("diginetica/train_sessions.txt").parent
    train = [line.split() for line in (folder / "train_sessions.txt").read_text().splitlines()]
    data = from_lists(train, kind="sessions")
    index = data.item_index()
    rows = (folder / "test_prefixes.tsv").read_text().splitlines()[1:]
    picked = np.random.default_rng(0).choice(len(rows), 3000, replace=False)
    histories, targets = [], []
    for row in picked:
        prefix, target = rows[row].split("\t")
        histories.append(np.array([index[i] for i in prefix.split()], dtype=np.int32))
        targets.append(np.array([index[target]]))
    cases = Cases(histories, np.full(len(histories), -1), targets)
    model = model_class("sknn")(weighting="harmonic", repeat=0.3).fit(data)
    metrics = evaluate_scores(model.score, cases, data.n_items, (20,), exclude_seen=False)
    assert metrics["metrics"]["hr@20"] > 0.45  # P@20 on 3,000 of 60,858 cases
    assert metrics["metrics"]["mrr@20"] > 0.15
