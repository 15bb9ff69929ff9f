"""Contract checks every recommender passes (LensKit / implicit style test mixin).

A test class sets ``model_name`` (and optionally ``config``) and inherits the checks:
fit/recommend, the known answer on a two-group "checkerboard", exclude-seen, similar items,
save/load round trip, determinism under a seed, and a clear error before fitting.

The known answer is *not* the most popular unseen item (group B is larger), so only a model
that uses the user's history finds it. Models that give everyone the same list declare
``personalised = False`` and are checked for exactly that instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from shopmind.errors import NotFittedError
from shopmind.features.sequences import Sequences, from_lists
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.registry import model_class

GROUP_A = [f"a{i}" for i in range(1, 6)]
GROUP_B = [f"b{i}" for i in range(1, 6)]
TEXTS = {
    **{a: f"red matte lipstick shade {a}" for a in GROUP_A},
    **{b: f"stainless steel kitchen knife {b}" for b in GROUP_B},
}


def checkerboard() -> Sequences:
    """30 users walk a1..a5 in order, 20 walk b1..b5 and 20 more only touch b1; user 'probe'
    has a1..a4.

    For any model that reads the probe's history, the best unseen item is a5; the most
    popular unseen item is b1 (40 users against 30), so a popularity ranking gets it wrong.
    """
    sequences = [list(GROUP_A) for _ in range(30)] + [list(GROUP_B) for _ in range(20)]
    sequences += [["b1"] for _ in range(20)]
    sequences.append(GROUP_A[:4])
    keys = [f"u{i}" for i in range(70)] + ["probe"]
    data = from_lists(sequences, keys)
    index = data.item_index()
    data.texts = {index[i]: t for i, t in TEXTS.items()}
    return data


class RecommenderContract:
    model_name: ClassVar[str]
    config: ClassVar[dict[str, Any]] = {}

    @classmethod
    def make(cls, **extra: Any) -> Recommender:
        return model_class(cls.model_name)(**{**cls.config, **extra})

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> Recommender:
        return cls.make().fit(checkerboard())

    def test_known_answer_comes_first(self, fitted: Recommender) -> None:
        recs = fitted.recommend(["probe"], k=3)[0]
        if fitted.personalised:
            assert recs[0][0] == "a5", recs
        else:  # the same list for everyone: the most popular unseen item, not a5
            assert recs[0][0] == "b1", recs

    def test_non_personalised_models_say_so(self, fitted: Recommender) -> None:
        probe = fitted.score([fitted.encode(GROUP_A[:4])])
        other = fitted.score([fitted.encode(GROUP_B[:2])])
        same = bool(np.allclose(probe, other))
        assert same == (not fitted.personalised), "declare personalised = False" if same else ""

    def test_returns_k_unseen_items_best_first(self, fitted: Recommender) -> None:
        recs = fitted.recommend(["u0", "probe"], k=4)
        assert [len(r) for r in recs] == [4, 4]
        assert not {item for item, _ in recs[0]} & set(GROUP_A)
        scores = [s for _, s in recs[1]]
        assert scores == sorted(scores, reverse=True)

    def test_include_seen_keeps_history(self, fitted: Recommender) -> None:
        recs = fitted.recommend(["probe"], k=10, exclude_seen=False)[0]
        assert {item for item, _ in recs} & set(GROUP_A[:4])

    def test_session_prefix_and_similar_items(self, fitted: Recommender) -> None:
        nxt = fitted.recommend_next([["b1", "b2", "b3"]], k=3)[0]
        assert nxt[0][0] in GROUP_B
        similar = fitted.similar_items(["b2"], k=3)[0]
        assert "b2" not in {i for i, _ in similar}
        assert similar[0][0] in GROUP_B

    def test_save_load_round_trip(self, fitted: Recommender, tmp_path: Path) -> None:
        path = fitted.save(tmp_path / "model.pkl")
        loaded = Recommender.load(path)
        assert loaded.config == fitted.config
        histories = [np.array([0, 1], dtype=np.int32)]
        np.testing.assert_allclose(loaded.score(histories), fitted.score(histories), rtol=1e-5)

    def test_same_seed_same_scores(self) -> None:
        data = checkerboard()
        one = self.make(seed=3).fit(data).score([np.array([5, 6], dtype=np.int32)])
        two = self.make(seed=3).fit(data).score([np.array([5, 6], dtype=np.int32)])
        np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-6)

    def test_unfitted_model_says_train_first(self) -> None:
        with pytest.raises(NotFittedError, match="recommend train"):
            self.make().recommend(["probe"], k=3)
