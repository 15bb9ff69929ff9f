"""Contract checks every recommender passes (LensKit / implicit style test mixin).

A test class sets ``model_name`` (and optionally ``config``) and inherits the checks:
fit/recommend, the known answer on a two-group "checkerboard", exclude-seen, similar items,
save/load round trip (the same answers once the histories are attached again), a saved file
without the training histories or user ids whose size does not grow with the number of users
(beyond the state a model declares in ``keyed_state``), determinism under a seed, and a clear
error before fitting.

The known answer is *not* the most popular unseen item (group B is larger), so only a model
that uses the user's history finds it. Models that give everyone the same list declare
``personalised = False`` and are checked for exactly that instead.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from shopmind.errors import NotFittedError, RecommendError
from shopmind.features.sequences import Sequences, from_lists
from shopmind.models.recommend.base import Recommender
from shopmind.models.recommend.registry import model_class

GROUP_A = [f"a{i}" for i in range(1, 6)]
GROUP_B = [f"b{i}" for i in range(1, 6)]
TEXTS = {
    **{a: f"red matte lipstick shade {a}" for a in GROUP_A},
    **{b: f"stainless steel kitchen knife {b}" for b in GROUP_B},
}
TAGS = {
    **{a: ("category:beauty", "category:beauty>lipstick", "brand:rouge") for a in GROUP_A},
    **{b: ("category:kitchen", "category:kitchen>knives", "brand:steelco") for b in GROUP_B},
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
    data.tags = {index[i]: t for i, t in TAGS.items()}
    return data


def renamed_users(copies: int = 1) -> Sequences:
    """The checkerboard with its 70 users repeated ``copies`` times under long ids that
    cannot occur by chance in a saved file ('probe' stays last, as ``probe-secret-id``)."""
    base = checkerboard()
    histories = base.histories()
    walkers, probe = histories[:-1], histories[-1]
    sequences = [h for _ in range(copies) for h in walkers] + [probe]
    keys = [f"user-secret-id-{n:05d}" for n in range(len(sequences) - 1)] + ["probe-secret-id"]
    times = [np.arange(len(s), dtype=np.int64) * 60 for s in sequences]
    data = Sequences(
        np.array(keys, dtype=object), base.item_ids, base.indptr[:1], base.items[:0],
        base.times[:0], base.kind, texts=base.texts, tags=base.tags,
    ).subset(sequences, times)  # fmt: skip
    data.purchased = {len(sequences) - 1: np.array([0], dtype=np.int32)}
    return data


def state_bytes(model: Recommender) -> int:
    """Bytes of the pickled learned state, leaving out what ``keyed_state`` declares (in the
    model and the recommenders it holds)."""
    skip: set[int] = set()
    todo = [model]
    while todo:
        current = todo.pop()
        skip.update(id(getattr(current, name)) for name in current.keyed_state)
        skip.add(id(getattr(current, "key_hashes_", None)))
        todo.extend(current._nested())

    class Skipping(pickle.Pickler):
        def persistent_id(self, obj: Any) -> str | None:
            return "skipped" if id(obj) in skip and obj is not None else None

    state = {k: v for k, v in model.__getstate__().items() if k.endswith("_")}
    buffer = io.BytesIO()
    Skipping(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return len(buffer.getvalue())


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
        with pytest.raises(RecommendError, match="no users' histories"):
            loaded.recommend(["probe"], k=3)
        # the histories come back from the data (as load_model reads them from the workspace)
        loaded.attach(checkerboard())
        users = [str(u) for u in fitted.data_.keys]
        assert loaded.recommend(users, k=5) == fitted.recommend(users, k=5)
        assert loaded.recommend(users, k=5, exclude_seen=False) == fitted.recommend(
            users, k=5, exclude_seen=False
        )
        prefixes = [["a1", "a2"], ["b3"]]
        assert loaded.recommend_next(prefixes, k=4) == fitted.recommend_next(prefixes, k=4)
        assert not loaded.data_changed()

    def test_saved_file_holds_no_training_histories(self, tmp_path: Path) -> None:
        small, large = renamed_users(1), renamed_users(4)
        model = self.make().fit(small)
        raw = model.save(tmp_path / "model.pkl").read_bytes()
        assert b"secret-id" not in raw  # no user ids (keyed models keep 64-bit hashes)
        found: list[str] = []

        class Recording(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> Any:
                found.append(f"{module}.{name}")
                return super().find_class(module, name)

        Recording(io.BytesIO(raw)).load()
        assert not [c for c in found if c.endswith(".Sequences")], found
        # 4x the users: the state not declared per-user stays the same size
        assert state_bytes(self.make().fit(large)) <= state_bytes(model) * 1.02 + 64

    def test_attached_changed_histories_line_up_by_user(self, tmp_path: Path) -> None:
        data = renamed_users(1)
        model = self.make().fit(data)
        loaded = Recommender.load(model.save(tmp_path / "model.pkl"))
        # the workspace lost user 0 (forgotten), gained a user and an item (zz) the model
        # never saw, and lists its items in another order
        kept = [[str(data.item_ids[i]) for i in h] for h in data.histories()[1:]]
        users = [str(k) for k in data.keys[1:]]
        changed = from_lists([*kept, ["zz", "b1"]], [*users, "newcomer"])  # rows shift by 1
        loaded.attach(changed)
        assert loaded.data_changed()
        assert list(loaded.data_.item_ids) == list(model.item_ids_)
        assert "user-secret-id-00000" not in loaded.key_index_
        assert loaded.recommend(users, k=5) == model.recommend(users, k=5)
        assert loaded.recommend(["newcomer"], k=3)[0]  # answered from its known items
        assert loaded.recommend(["user-secret-id-00000"], k=3) == [[]]

    def test_same_seed_same_scores(self) -> None:
        data = checkerboard()
        one = self.make(seed=3).fit(data).score([np.array([5, 6], dtype=np.int32)])
        two = self.make(seed=3).fit(data).score([np.array([5, 6], dtype=np.int32)])
        np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-6)

    def test_unfitted_model_says_train_first(self) -> None:
        with pytest.raises(NotFittedError, match="recommend train"):
            self.make().recommend(["probe"], k=3)
