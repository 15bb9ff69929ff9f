"""The catalogue-attributes recommender: tokens from the items table, brand and category
matches, and its way into the default blend (the refinement, outside the coarse grid)."""

from __future__ import annotations

import numpy as np

from shopmind.evaluation.splits import loo_split, subsample
from shopmind.features.sequences import from_lists, item_tags
from shopmind.models.recommend.explain import Explainer
from shopmind.models.recommend.markov import Markov
from shopmind.models.recommend.popularity import Popularity
from shopmind.models.recommend.registry import model_class
from shopmind.models.recommend.rules import ItemCatalog
from shopmind.models.recommend.select import _blend_scores, blend_search
from shopmind.models.recommend.workflow import read_sequences
from shopmind.store import Workspace


def test_item_tags_take_every_category_level_and_the_brand() -> None:
    assert item_tags("Beauty > Skin Care > Face", " Olay ") == (
        "category:beauty",
        "category:beauty>skin care",
        "category:beauty>skin care>face",
        "brand:olay",
    )
    assert item_tags("17|4;1", None) == ("category:17", "category:4", "category:1")
    assert item_tags("Toys|toys", "") == ("category:toys",)  # duplicates once
    assert item_tags(None, None) == ()


def test_workspace_histories_carry_the_items_tags(sim_ws: Workspace) -> None:
    data = read_sequences(sim_ws)
    with sim_ws.connect(read_only=True) as con:
        rows = con.execute("SELECT item_id, category, brand FROM items").fetchall()
    index = data.item_index()
    expected = {index[i]: item_tags(c, b) for i, c, b in rows if i in index and item_tags(c, b)}
    assert data.tags == expected and len(expected) > 100
    # the splits keep them
    assert loo_split(data).tune_data.tags == expected


def _brand_shop() -> tuple:
    """Users buy within one brand in random order (co-occurrence spreads over the brand); a
    brand-new item of the 'rouge' brand has no interactions, 'hot' items of no brand are the
    most popular."""
    rng = np.random.default_rng(3)
    brands = {"rouge": [f"r{i}" for i in range(6)], "steel": [f"s{i}" for i in range(6)]}
    sequences, keys = [], []
    for u in range(80):
        brand = "rouge" if u % 2 else "steel"
        walk = [*rng.choice(brands[brand], size=3, replace=False), "hot1", "hot2"]
        sequences.append(walk)
        keys.append(f"u{u}")
    sequences.append(["r0", "r1", "r2", "r3", "r4", "r5"])  # every old rouge item, then ...
    keys.append("probe")
    sequences.append(["r_new"])  # ... the new one, seen once (so it is in the vocabulary)
    keys.append("first_buyer")
    data = from_lists(sequences, keys)
    index = data.item_index()
    tags = {i: ("category:beauty", "brand:rouge") for i in [*brands["rouge"], "r_new"]}
    tags |= {i: ("category:kitchen", "brand:steel") for i in brands["steel"]}
    data.tags = {index[i]: t for i, t in tags.items()}
    return data, index


def test_brand_match_outranks_popular_items_and_knows_no_co_occurrence() -> None:
    data, index = _brand_shop()
    model = model_class("attributes")().fit(data)
    probe = model.recommend(["probe"], k=2)[0]
    assert probe[0][0] == "r_new"  # the only unseen item of the brand, despite 'hot' items
    scores = model.score([model.encode(["s0"])])[0]
    assert scores[index["s1"]] > 0 and scores[index["r_new"]] == 0  # other brand: no match
    assert scores[index["hot1"]] == 0  # no attributes: score 0
    boosted = model_class("attributes")(popularity=1.0).fit(data)
    plain = model.score([model.encode(["s0"])])[0]
    assert boosted.score([boosted.encode(["s0"])])[0][index["s1"]] > plain[index["s1"]]
    # similar items: same brand first
    similar = [item for item, _ in model.similar_items(["r1"], k=3)[0]]
    assert set(similar) <= {f"r{i}" for i in range(6)} | {"r_new"}


def test_reason_names_the_brand_when_nothing_was_bought_together() -> None:
    data, index = _brand_shop()
    model = model_class("attributes")().fit(data)
    n = data.n_items
    brand = np.full(n, None, dtype=object)
    for item, i in index.items():
        brand[i] = "Rouge" if item.startswith("r") else ("Steel" if item.startswith("s") else None)
    titles = np.array([f"title {item}" for item in data.item_ids], dtype=object)
    catalog = ItemCatalog(np.full(n, None, dtype=object), np.full(n, np.nan), np.ones(n, bool),
                          titles, brand=brand)  # fmt: skip
    explainer = Explainer.for_model(model, catalog)
    # r_new was never chosen with the probe's items: its reason is the brand, named with the
    # probe's most recent item of that brand (r5); hot1 has no brand and no shared user
    reasons = explainer.reasons("probe", ["r_new", "hot1"])
    assert reasons[0] == "same brand as title r5 (r5) (Rouge)"
    assert not reasons[1].startswith("same brand")
    # without brands in the catalogue, no brand reason
    catalog.brand = None
    assert (
        not Explainer.for_model(model, catalog)
        .reasons("probe", ["r_new"])[0]
        .startswith("same brand")
    )


def test_a_model_outside_the_coarse_grid_joins_in_the_refinement() -> None:
    rng = np.random.default_rng(0)
    sequences = []
    for _ in range(150):  # chains: Markov predicts, popularity does not
        start = int(rng.integers(30))
        sequences.append([f"i{(start + s) % 30}" for s in range(7)])
    split = loo_split(from_lists(sequences))
    cases = subsample(split.validation, None, 0)
    models = [Popularity().fit(split.tune_data), Markov().fit(split.tune_data)]
    alone = _blend_scores(models, cases, 5, [(1.0, 0.0)], True)[0]
    weights, score = blend_search(models, cases, 5, coarse=1)
    assert weights[1] > 0 and score > alone


def test_bought_together_only_when_every_pair_was_a_purchase() -> None:
    """Tmall: items only viewed together read "chosen together with", never "bought"."""
    histories = [["x", "y"], ["x", "y"], ["x", "y", "z"], ["x"]]
    data = from_lists(histories, keys=["a", "b", "c", "probe"])
    model = Markov().fit(data)
    n = data.n_items
    titles = np.array(list(data.item_ids), dtype=object)
    catalog = ItemCatalog(np.full(n, None, dtype=object), np.full(n, np.nan), np.ones(n, bool),
                          titles)  # fmt: skip
    index = data.item_index()
    data.purchased = {0: np.array([index["x"]], dtype=np.int32)}  # one purchase, views else
    assert (
        Explainer.for_model(model, catalog)
        .reasons("probe", ["y"])[0]
        .startswith("chosen together with x")
    )
    data.purchased = {  # an order log: every pair a purchase
        k: np.unique(data.seq(k)).astype(np.int32) for k in range(data.n_keys)
    }
    assert (
        Explainer.for_model(model, catalog)
        .reasons("probe", ["y"])[0]
        .startswith("bought together with x")
    )
