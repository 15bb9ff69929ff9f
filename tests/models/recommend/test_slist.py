"""SLIST's closed form equals a direct constrained least-squares solve, column by column."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from shopmind.features.sequences import from_lists
from shopmind.models.recommend.slist import Slist


def _random_sequences(seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[f"i{j}" for j in rng.integers(0, 12, size=rng.integers(2, 7))] for _ in range(80)]


def test_weights_solve_the_constrained_least_squares_problem() -> None:
    data = from_lists(_random_sequences())
    alpha, lam = 0.3, 2.0
    model = Slist(
        alpha=alpha, regularization=lam, window=2, position_decay=0.5, neighbours=1000
    ).fit(data)
    m = data.n_items
    assert list(model.items_) == list(range(m))  # every item modelled at this size
    # independent reference: min alpha|X - XB|^2 + (1-alpha)|T - SB|^2 + lam|B|^2, B_jj = 0
    rows = np.repeat(np.arange(data.n_keys), data.lengths())
    x = sparse.csr_matrix((np.ones(len(rows)), (rows, data.items)), shape=(data.n_keys, m))
    x = (x > 0).astype(float).toarray()
    # one row per position with an earlier item: the two items before it (weights 1, 0.5)
    s_rows, t_rows = [], []
    for seq in data.histories():
        for pos in range(1, len(seq)):
            past, nxt = np.zeros(m), np.zeros(m)
            for gap in (1, 2):
                if pos - gap >= 0:
                    past[seq[pos - gap]] += 0.5 ** (gap - 1)
            nxt[seq[pos]] = 1.0
            s_rows.append(past)
            t_rows.append(nxt)
    s, t = np.array(s_rows), np.array(t_rows)
    gram = alpha * x.T @ x + (1 - alpha) * s.T @ s + lam * np.eye(m)
    target = alpha * x.T @ x + (1 - alpha) * s.T @ t
    expected = np.zeros((m, m))
    for j in range(m):
        other = np.arange(m) != j
        expected[other, j] = np.linalg.solve(gram[np.ix_(other, other)], target[other, j])
    # the model keeps the positive weights only
    np.testing.assert_allclose(
        model.weights_.toarray(), np.clip(expected, 0, None), rtol=1e-3, atol=1e-5
    )


def test_only_the_most_frequent_items_are_modelled() -> None:
    sequences = [["a", "b", "c"]] * 20 + [["a", "rare"]]
    data = from_lists(sequences)
    model = Slist(max_items=3).fit(data)
    index = data.item_index()
    assert index["rare"] not in set(model.items_)
    scores = model.score([np.array([index["a"]], dtype=np.int32)])[0]
    assert scores[index["b"]] > scores[index["rare"]]  # the rare item only gets the backfill


def test_next_item_follows_the_transitions() -> None:
    data = from_lists([["a", "b", "c", "d"]] * 30 + [["d", "c", "b", "a"]] * 5)
    model = Slist(alpha=0.0, regularization=1.0).fit(data)
    recs = model.recommend_next([["a", "b"]], k=1)[0]
    assert recs[0][0] == "c"


def test_items_seen_less_than_min_count_are_not_modelled() -> None:
    """A catalogue too large to model whole (the Taobao head: 55k items, 136 s of dense
    inverse) models only items seen at least ``min_count`` times; one that fits is modelled
    whole, as before; when fewer than two items reach the count, the most frequent are."""
    sequences = [["a", "b", "c"]] * 5 + [["a", "twice"], ["b", "twice"], ["c", "once"]]
    data = from_lists(sequences)
    index = data.item_index()
    frequent = {index[i] for i in ("a", "b", "c")}
    assert set(Slist(max_items=4).fit(data).items_) == frequent
    assert set(Slist(max_items=4, min_count=2).fit(data).items_) == frequent | {index["twice"]}
    assert len(Slist().fit(data).items_) == data.n_items  # it fits: every item, as before
    sparse_log = from_lists([["x", "y"], ["z", "w"], ["x", "w"]])
    assert len(Slist(max_items=2).fit(sparse_log).items_) == 2
