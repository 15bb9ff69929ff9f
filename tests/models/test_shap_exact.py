"""Propensity reasons (LightGBM TreeSHAP) against exact Shapley values by brute force.

``shap.TreeExplainer`` calls the same LightGBM contribution routine, so agreeing with it
proves nothing. Here the game is written out independently from the dumped trees: the value
of a feature subset S is the tree's expected output when the features outside S are
unknown, i.e. at a split on such a feature both children are averaged by their training
counts (the "path-dependent" conditional expectation TreeSHAP defines, Lundberg et al.
2020, Algorithm 1). Shapley values then sum over all 2^M subsets with the usual weights.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial
from typing import Any

import numpy as np

from shopmind.models.propensity_candidates import Candidate
from shopmind.models.shared import lightgbm

M = 5  # features: 2^5 subsets per row


def _value(node: dict[str, Any], x: np.ndarray, known: frozenset[int]) -> float:
    """E[tree(x) | features in ``known``], unknown splits averaged by training counts."""
    if "leaf_value" in node:
        return float(node["leaf_value"])
    left, right = node["left_child"], node["right_child"]
    feature = int(node["split_feature"])
    if feature in known:
        assert node["decision_type"] == "<="
        return _value(left if x[feature] <= node["threshold"] else right, x, known)

    def count(child: dict[str, Any]) -> float:
        return float(child["leaf_count"] if "leaf_value" in child else child["internal_count"])

    n_left, n_right = count(left), count(right)
    return (n_left * _value(left, x, known) + n_right * _value(right, x, known)) / (
        n_left + n_right
    )


def exact_shapley(booster: Any, x: np.ndarray) -> np.ndarray:
    """(M,) Shapley values of one row for the raw (log-odds) output, all subsets enumerated."""
    trees = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    cache: dict[frozenset[int], float] = {}

    def v(subset: frozenset[int]) -> float:
        if subset not in cache:
            cache[subset] = sum(_value(tree, x, subset) for tree in trees)
        return cache[subset]

    values = np.zeros(M)
    for i in range(M):
        others = [j for j in range(M) if j != i]
        for size in range(M):
            weight = factorial(size) * factorial(M - size - 1) / factorial(M)
            for subset in combinations(others, size):
                s = frozenset(subset)
                values[i] += weight * (v(s | {i}) - v(s))
    return values


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, M))
    # an interaction (x0 * x1) and a threshold effect, so the subsets matter
    logit = 1.5 * x[:, 0] * x[:, 1] + (x[:, 2] > 0.3) - 0.5 * x[:, 3]
    y = (rng.random(600) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def test_reasons_of_the_propensity_lightgbm_are_exact_shapley_values() -> None:
    x, y = _data()
    candidate = Candidate("lightgbm").fit(x, y, seed=0)  # the scorer `propensity` uses
    rows = x[:6]
    ours = candidate.contributions(rows)
    booster = candidate.model.booster_
    exact = np.array([exact_shapley(booster, row) for row in rows])
    assert np.abs(exact).max() > 0.05  # the model learned something to explain
    np.testing.assert_allclose(ours, exact, atol=1e-9)


def test_deeper_trees_with_interactions_match_and_sum_to_the_prediction() -> None:
    x, y = _data(1)
    model = lightgbm(
        "classifier", 0, n_estimators=25, num_leaves=8, min_child_samples=20, learning_rate=0.1
    ).fit(x, y)
    rows = x[:5]
    contributions = model.predict(rows, pred_contrib=True)
    exact = np.array([exact_shapley(model.booster_, row) for row in rows])
    np.testing.assert_allclose(contributions[:, :-1], exact, atol=1e-9)
    raw = model.predict(rows, raw_score=True)
    np.testing.assert_allclose(contributions.sum(axis=1), raw, atol=1e-9)  # efficiency


def test_brute_force_detects_a_wrong_attribution() -> None:
    """The reference can fail: swapping two features' values changes the answer."""
    x, y = _data(2)
    model = lightgbm("classifier", 0, n_estimators=10, num_leaves=8, min_child_samples=20)
    model.fit(x, y)
    exact = exact_shapley(model.booster_, x[0])
    contributions = model.predict(x[:1], pred_contrib=True)[0, :-1]
    swapped = contributions[[1, 0, 2, 3, 4]]
    assert np.abs(exact[0] - exact[1]) > 1e-3  # else the check below could not fail
    assert not np.allclose(swapped, exact, atol=1e-6)
