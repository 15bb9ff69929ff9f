"""Recency decay of training data (``recency`` of session kNN, item kNN and Markov): newer
sessions, users and transitions count more, ages are shares of the training period, and no
decay changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.features.sequences import Sequences, from_lists
from shopmind.models.recommend.itemknn import ItemKNN
from shopmind.models.recommend.markov import Markov
from shopmind.models.recommend.sknn import SessionKNN

HOUR = 3600


def _timed(sequences: list[list[str]], starts_hours: list[int]) -> Sequences:
    """Sessions starting at the given hours, one minute between their items."""
    base = from_lists(sequences, kind="sessions")
    seqs = [base.seq(i) for i in range(base.n_keys)]
    times = [
        start * HOUR + np.arange(len(s)) * 60 for start, s in zip(starts_hours, seqs, strict=True)
    ]
    return base.subset(seqs, times)


# "a" was followed by "old" long ago and by "new" lately, equally often
SHOP = _timed(
    [["a", "old"], ["a", "old"], ["b", "c"], ["a", "new"], ["a", "new"], ["c", "b"]],
    [0, 1, 50, 98, 99, 100],
)


def test_ages_are_shares_of_the_period_from_the_newest_interaction() -> None:
    ages = SHOP.event_ages()
    span = 100 * HOUR + 60
    assert ages.max() == pytest.approx(1.0) and ages.min() == 0.0
    assert ages[0] == pytest.approx(1.0)  # the very first event
    assert ages[-1] == 0.0  # the newest event
    keys = SHOP.key_ages()  # each session at its last event
    assert keys[0] == pytest.approx((span - 60) / span)
    assert keys[-1] == 0.0
    assert np.all(np.diff(keys) <= 0)  # later sessions are younger


def test_key_ages_of_empty_keys_and_equal_times() -> None:
    flat = from_lists([["a"], ["b", "a"]])  # from_lists: every sequence starts at time 0
    empty = flat.subset([flat.seq(0), np.zeros(0, np.int32)], [np.zeros(1), np.zeros(0)])
    assert list(empty.key_ages()) == [0.0, 1.0]  # one time only: age 0; no events: 1
    assert (
        not from_lists([["a", "b"]])
        .subset([np.array([0, 1])], [np.array([5, 5])])
        .event_ages()
        .any()
    )


def _rank(model: SessionKNN | ItemKNN | Markov, history: list[str]) -> tuple[float, float]:
    index = SHOP.item_index()
    scores = model.score([np.array([index[i] for i in history])], np.array([-1]))[0]
    return float(scores[index["new"]]), float(scores[index["old"]])


@pytest.mark.parametrize("family", [SessionKNN, ItemKNN, Markov])
def test_recency_prefers_what_followed_lately(
    family: type[SessionKNN] | type[ItemKNN] | type[Markov],
) -> None:
    new, old = _rank(family().fit(SHOP), ["a"])
    assert new == pytest.approx(old)  # without decay both continuations tie
    new, old = _rank(family(recency=0.1).fit(SHOP), ["a"])
    assert new > 10 * old  # a half-life of 10% of the period: about 2**-10 for the old ones


def test_session_knn_recency_is_a_scoring_setting() -> None:
    # sknn keeps every session's age; the decay is applied when scoring (no refit needed)
    fitted = SessionKNN().fit(SHOP)
    fitted.config = fitted.config.model_copy(update={"recency": 0.1})
    assert _rank(fitted, ["a"]) == _rank(SessionKNN(recency=0.1).fit(SHOP), ["a"])
