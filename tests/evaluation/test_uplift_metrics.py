"""Uplift metrics equal scikit-uplift's (an independent implementation) and behave sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.evaluation.uplift import auuc, qini_coefficient, uplift_at_k


def _data(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    responsive = rng.random(n) < 0.4
    y = (rng.random(n) < 0.1 + 0.15 * t * responsive).astype(int)
    score = np.round(responsive + rng.normal(0, 0.8, n), 2)
    return y, t, score


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_uplift(seed: int) -> None:
    sklift = pytest.importorskip("sklift.metrics")
    y, t, u = _data(seed)
    assert qini_coefficient(y, t, u) == pytest.approx(sklift.qini_auc_score(y, u, t))
    assert auuc(y, t, u) == pytest.approx(sklift.uplift_auc_score(y, u, t))
    assert uplift_at_k(y, t, u, 0.3) == pytest.approx(
        sklift.uplift_at_k(y, u, t, strategy="overall", k=0.3)
    )


def test_perfect_random_and_reversed_orderings() -> None:
    y, t, u = _data(5, 20_000)
    informative = qini_coefficient(y, t, u)
    random = qini_coefficient(y, t, np.random.default_rng(9).random(len(y)))
    reversed_ = qini_coefficient(y, t, -u)
    assert informative > 0.1 > abs(random)
    assert reversed_ < 0
    assert qini_coefficient(y, t, y * t - y * (1 - t)) == pytest.approx(1.0)
    assert uplift_at_k(y, t, u, 0.3) > uplift_at_k(y, t, -u, 0.3)
