"""Every recommender passes the shared contract (shopmind.testing.recommender_contract)."""

from __future__ import annotations

from typing import ClassVar

from shopmind.testing.recommender_contract import RecommenderContract

TINY_NET = {
    "hidden": 16,
    "layers": 1,
    "max_len": 8,
    "epochs": 40,
    "batch_size": 16,
    "learning_rate": 0.01,
    "dropout": 0.0,
    "device": "cpu",
}


class TestPopularity(RecommenderContract):
    model_name = "popularity"

    def test_session_prefix_and_similar_items(self, fitted) -> None:  # type: ignore[override]
        recs = fitted.recommend_next([["b1"]], k=2)[0]
        assert recs[0][0].startswith("a")  # the same popular list for every prefix


class TestTrending(TestPopularity):
    model_name = "trending"


class TestMarkov(RecommenderContract):
    model_name = "markov"


class TestItemKNN(RecommenderContract):
    model_name = "itemknn"


class TestSessionKNN(RecommenderContract):
    model_name = "sknn"


class TestALS(RecommenderContract):
    model_name = "als"
    config: ClassVar[dict] = {"factors": 8, "iterations": 10}


class TestBPR(RecommenderContract):
    model_name = "bpr"
    config: ClassVar[dict] = {"factors": 8, "iterations": 200, "learning_rate": 0.05}


class TestSASRec(RecommenderContract):
    model_name = "sasrec"
    config: ClassVar[dict] = TINY_NET


class TestGRU4Rec(RecommenderContract):
    model_name = "gru4rec"
    config: ClassVar[dict] = TINY_NET


class TestContent(RecommenderContract):
    model_name = "content"


class TestHybrid(RecommenderContract):
    model_name = "hybrid"
