"""Propensity candidates: the ensemble's scores and reasons, refits, and the choice."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shopmind.models.propensity_candidates import Candidate, auc, choose


def _data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts-like features; the label depends on feature 0 and (non-linearly) feature 1."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(lam=[2.0, 3.0, 1.0, 5.0], size=(rows, 4)).astype(float)
    logit = 0.6 * x[:, 0] - 0.8 * (x[:, 1] > 4) - 1.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def test_ensemble_is_the_mean_of_its_standardised_parts() -> None:
    x, y = _data(2_000, seed=1)
    ensemble = Candidate("ensemble").fit(x, y, seed=0)
    lgbm, logistic = ensemble.parts_
    assert (lgbm.kind, logistic.kind) == ("lightgbm", "logistic")
    parts = np.column_stack([lgbm.log_odds(x), logistic.log_odds(x)])
    z = (parts - parts.mean(axis=0)) / parts.std(axis=0)
    np.testing.assert_allclose(ensemble.score(x), z.mean(axis=1), atol=1e-6)
    # the reasons add up: score minus the summed contributions is the same for every row
    rest = ensemble.score(x) - ensemble.contributions(x).sum(axis=1)
    assert np.ptp(rest) < 1e-6
    assert ensemble.contributions(x).shape == x.shape


def test_fresh_refits_the_same_kind_on_other_rows() -> None:
    x, y = _data(1_000, seed=2)
    single = Candidate("feature", feature=2, sign=-1.0).fit(x, y, seed=0)
    again = single.fresh()
    assert (again.kind, again.feature, again.sign, again.model) == ("feature", 2, -1.0, None)
    more_x, more_y = _data(3_000, seed=3)
    refit = Candidate("lightgbm").fit(x, y, seed=0).fresh().fit(more_x, more_y, seed=0)
    assert refit.model.n_features_in_ == 4 and refit.kind == "lightgbm"


def test_choice_is_the_best_on_validation_and_beats_every_single_feature() -> None:
    train, validation = _data(3_000, seed=4), _data(2_000, seed=5)
    names = ["a", "b", "c", "d"]
    chosen, aucs, single = choose(names, train, validation, seed=0)
    assert set(aucs) == {"lightgbm", "logistic", "ensemble", "single_feature"}
    key = chosen.kind if chosen.kind != "feature" else "single_feature"
    assert aucs[key] == max(aucs.values())
    assert single["feature"] == "a" and single["direction"] == "higher"
    # held-out rows from the same process: the chosen scorer is informative
    xt, yt = _data(2_000, seed=6)
    assert auc(yt, chosen.score(xt)) > single["auc"] - 0.03


@pytest.mark.parametrize("kind", ["lightgbm", "logistic", "ensemble"])
def test_candidates_are_deterministic(kind: str) -> None:
    x, y = _data(1_500, seed=7)
    a = Candidate(kind).fit(x, y, seed=0).score(x)
    b = Candidate(kind).fit(x, y, seed=0).score(x)
    np.testing.assert_array_equal(a, b)


def test_small_validation_sets_get_a_smooth_calibration() -> None:
    from sklearn.isotonic import IsotonicRegression

    from shopmind.models.propensity import (
        ISOTONIC_MIN_ROWS,
        PROBABILITY_FLOOR,
        IsotonicCalibrator,
        PlattCalibrator,
        calibrator,
    )

    rng = np.random.default_rng(8)
    scores = rng.normal(size=2 * ISOTONIC_MIN_ROWS)
    y = (rng.random(len(scores)) < 1 / (1 + np.exp(-2 * scores))).astype(int)
    small = calibrator(scores[:500], y[:500])
    assert isinstance(small, PlattCalibrator)
    p = small.predict(scores[:500])
    assert np.all(np.diff(p[np.argsort(scores[:500])]) > 0)  # keeps the ranking, no ties
    assert abs(p.mean() - y[:500].mean()) < 1e-3  # the fitted curve matches the base rate
    large = calibrator(scores, y)
    assert isinstance(large, IsotonicCalibrator)
    q = large.predict(scores)
    # the isotonic steps keep the model's ranking (their ties cost AUC) and stay inside (0, 1)
    assert np.all(np.diff(q[np.argsort(scores)]) > 0)
    assert roc_auc_score(y, q) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert q.min() >= PROBABILITY_FLOOR and q.max() <= 1 - PROBABILITY_FLOOR
    steps = IsotonicRegression(out_of_bounds="clip").fit(scores, y).predict(scores)
    assert np.abs(np.clip(steps, 0.001, 0.999) - q).max() < 1e-6  # still the isotonic curve


def test_out_of_fold_scores_come_from_models_that_never_saw_the_row() -> None:
    """The calibration of a refitted model learns from out-of-fold scores: on pure noise a
    LightGBM ranks its own training rows well, and rows it never saw at chance."""
    from shopmind.models.propensity import out_of_fold_scores

    rng = np.random.default_rng(3)
    x = rng.normal(size=(1500, 6))
    y = (rng.random(1500) < 0.3).astype(int)
    users = np.repeat(np.arange(500), 3)  # three snapshots per user stay in one fold
    model = Candidate("lightgbm").fit(x, y, seed=0)
    in_sample = roc_auc_score(y, model.score(x))
    assert in_sample > 0.6  # noise learnt (the model is regularised for small data)
    oof = roc_auc_score(y, out_of_fold_scores(model, x, y, users, seed=0))
    assert abs(oof - 0.5) < 0.05 and oof < in_sample - 0.1
    # a target too rare for three folds of both classes: no scores, never in-sample ones
    rare = np.zeros(1500, dtype=int)
    rare[:2] = 1
    assert out_of_fold_scores(model, x, rare, users, seed=0) is None
