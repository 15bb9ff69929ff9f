"""Every recommender passes the shared contract (shopmind.testing.recommender_contract)."""

from __future__ import annotations

from typing import ClassVar

import pytest

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
        recs = fitted.recommend_next([["a1"]], k=2)[0]
        assert recs[0][0].startswith("b")  # the same popular list for every prefix


class TestTrending(TestPopularity):
    model_name = "trending"


class TestMarkov(RecommenderContract):
    model_name = "markov"


class TestItemKNN(RecommenderContract):
    model_name = "itemknn"


class TestSessionKNN(RecommenderContract):
    model_name = "sknn"


class TestSlist(RecommenderContract):
    model_name = "slist"


class TestALS(RecommenderContract):
    model_name = "als"
    config: ClassVar[dict] = {"factors": 8, "iterations": 10}


class TestBPR(RecommenderContract):
    model_name = "bpr"
    config: ClassVar[dict] = {"factors": 8, "iterations": 200, "learning_rate": 0.05}


@pytest.mark.slow  # trains small networks several times: about 2 min together
class TestSASRec(RecommenderContract):
    model_name = "sasrec"
    config: ClassVar[dict] = TINY_NET


@pytest.mark.slow  # trains small networks several times: about 2 min together
class TestGRU4Rec(RecommenderContract):
    model_name = "gru4rec"
    config: ClassVar[dict] = TINY_NET


class TestContent(RecommenderContract):
    model_name = "content"


class TestAttributes(RecommenderContract):
    model_name = "attributes"


class TestHybrid(RecommenderContract):
    model_name = "hybrid"


def test_content_model_reads_chinese_titles_with_the_multilingual_encoder() -> None:
    from shopmind.features.sequences import from_lists
    from shopmind.models.recommend.registry import model_class

    titles = {
        "t1": "绿茶 茶叶 春茶",
        "t2": "龙井 绿茶 新茶",
        "k1": "不锈钢 菜刀",
        "k2": "厨房 刀具 菜刀",
    }
    data = from_lists([["t1", "k1"], ["t2", "k2"]])
    index = data.item_index()
    data.texts = {index[i]: t for i, t in titles.items()}
    model = model_class("content")().fit(data)
    assert model.encoder_ == "e5"
    assert model.similar_items(["t1"], k=1)[0][0][0] == "t2"
    assert model.similar_items(["k2"], k=1)[0][0][0] == "k1"
