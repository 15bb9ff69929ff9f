"""Diversity re-ranks (category cap, MMR) and beyond-accuracy metrics per segment."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from shopmind.errors import RecommendError
from shopmind.evaluation.diversity import (
    ItemSimilarity,
    intra_list_diversity,
    list_metrics,
    segment_table,
)
from shopmind.evaluation.ranking import Cases, evaluate_scores
from shopmind.evaluation.topk import top_k
from shopmind.models.recommend.rules import (
    BusinessRules,
    ItemCatalog,
    apply_rules,
    diversity_rules,
    mmr,
)
from tests.conftest import run_cli

CATEGORIES = np.array(["a", "a", "a", "b", "b", None], dtype=object)
NOTHING = [np.zeros(0, dtype=np.int64)]


def test_ild_by_category_matches_hand_count() -> None:
    sim = ItemSimilarity.from_categories(CATEGORIES)
    top = np.array([[0, 1, 3], [0, 3, 5], [0, -1, -1], [5, 5, -1]])
    ild = intra_list_diversity(top, sim)
    assert ild[0] == pytest.approx(2 / 3)  # (0,1) same; (0,3), (1,3) differ
    assert ild[1] == pytest.approx(1.0)  # a, b, unknown: all different
    assert np.isnan(ild[2])  # one item: no pair
    assert ild[3] == 0.0  # "unknown" is one category


def test_ild_by_cooccurrence_is_one_minus_cosine() -> None:
    user_item = sparse.csr_matrix(
        np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 0]], dtype=np.float32)
    )
    sim = ItemSimilarity.from_interactions(user_item)
    dense = user_item.toarray()
    cos01 = dense[:, 0] @ dense[:, 1] / np.linalg.norm(dense[:, 0]) / np.linalg.norm(dense[:, 1])
    assert intra_list_diversity(np.array([[0, 1]]), sim)[0] == pytest.approx(1 - cos01)
    # categories win when most items have one; otherwise co-occurrence
    assert ItemSimilarity.choose(np.array(["x", "y", None], dtype=object), user_item).kind == (
        "category"
    )
    assert ItemSimilarity.choose(np.array([None, None, "y"], dtype=object), user_item).kind == (
        "cooccurrence"
    )


def test_novelty_is_mean_self_information_per_slot_and_coverage_counts_distinct() -> None:
    share = np.array([0.5, 0.25, 0.125, 1.0])
    top = np.array([[0, 1], [0, 2], [0, -1]])
    found = list_metrics(top, 8, share, None, 2)
    assert found["coverage@2"] == pytest.approx(3 / 8)
    assert found["novelty@2"] == pytest.approx((1 + 2 + 1 + 3 + 1) / 5)  # bits, 5 slots


def test_mmr_lambda_one_is_the_plain_ranking_and_lower_lambda_spreads_categories() -> None:
    scores = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
    sim = ItemSimilarity.from_categories(CATEGORIES)
    plain, _ = top_k(scores.copy(), 4, exclude=NOTHING)
    same, _ = mmr(scores.copy(), 4, 1.0, sim, NOTHING)
    assert same.tolist() == plain.tolist()
    # lambda 0.5: relevance (6-s)/5 scaled; after item 0, b-item 3 (rel 0.4) beats a-item 1
    # (0.5*0.8 - 0.5*1 = -0.1 vs 0.5*0.4 = 0.2); then unknown 5 (rel 0) vs 1 (-0.1): 5
    spread, values = mmr(scores.copy(), 4, 0.5, sim, NOTHING)
    assert spread[0].tolist() == [0, 3, 5, 1]
    assert values[0].tolist() == [6.0, 3.0, 1.0, 5.0]  # model scores kept, not MMR gains


def test_rules_route_mmr_and_cap_and_refuse_bad_specs() -> None:
    catalog = ItemCatalog(CATEGORIES, np.full(6, np.nan), np.ones(6, bool), CATEGORIES)
    scores = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
    rules = diversity_rules("mmr:0.5", None)
    assert rules is not None and rules.mmr_lambda == 0.5
    top, _ = apply_rules(scores.copy(), 4, rules, catalog, NOTHING, None)
    assert top[0].tolist() == [0, 3, 5, 1]
    capped = diversity_rules(None, 1)
    assert capped == BusinessRules(max_per_category=1)
    top, values = apply_rules(scores.copy(), 4, capped, catalog, NOTHING, None)
    assert top[0][np.isfinite(values[0])].tolist() == [0, 3, 5]  # only 3 categories
    catalog.blocked = np.array([True, False, False, False, False, False])
    top, _ = apply_rules(scores.copy(), 2, capped, catalog, NOTHING, None)
    assert top[0].tolist() == [1, 3]  # blocked item 0 never picked
    assert diversity_rules("none", None) is None
    for bad in ("mmr:1.5", "mmr:x", "cap", "mmr:0.5:brand"):
        with pytest.raises(RecommendError, match=r"diversity|lambda"):
            diversity_rules(bad, None)
    with pytest.raises(RecommendError, match="one diversity"):
        diversity_rules("mmr:0.5", 2)


def test_evaluation_reads_the_reranked_lists_and_splits_by_segment() -> None:
    n_items = 6
    cases = Cases(
        [np.array([4]), np.array([4]), np.array([4]), np.array([4])],
        np.arange(4),
        [np.array([1]), np.array([3]), np.array([1]), np.array([0])],
    )

    def score(histories, keys):  # the same ranking 0 > 1 > 2 > ... for everyone
        return np.tile(-np.arange(n_items, dtype=np.float32), (len(histories), 1))

    catalog = ItemCatalog(CATEGORIES, np.full(6, np.nan), np.ones(6, bool), CATEGORIES)
    rules = BusinessRules(max_per_category=1)
    sim = ItemSimilarity.from_categories(CATEGORIES)
    groups = np.array(["gold", "gold", "new", None], dtype=object)
    share = np.full(n_items, 0.5)
    kw = {"popularity": share, "similarity": sim, "groups": groups}
    plain = evaluate_scores(score, cases, n_items, (2,), **kw)
    capped = evaluate_scores(
        score,
        cases,
        n_items,
        (2,),
        rerank=lambda s, k, seen: apply_rules(s, k, rules, catalog, seen, None),
        **kw,
    )
    # plain lists [0, 1]: targets 1, 1, 0 hit; capped lists [0, 3]: targets 3 and 0 hit
    assert plain["metrics"]["hr@2"] == 0.75 and capped["metrics"]["hr@2"] == 0.5
    assert plain["metrics"]["ild@2"] == 0.0 and capped["metrics"]["ild@2"] == 1.0
    assert capped["metrics"]["novelty@2"] == pytest.approx(1.0)
    segments = capped["customer_segments"]
    assert list(segments) == ["gold", "new", "no segment"]  # largest first
    assert segments["gold"]["cases"] == 2 and segments["gold"]["hr@2"] == 0.5
    assert segments["new"]["hr@2"] == 0.0 and segments["no segment"]["hr@2"] == 1.0
    assert segments["gold"]["coverage@2"] == pytest.approx(2 / 6)
    assert "history 1-1" in capped["segments"] and "ild@2" in capped["segments"]["history 1-1"]


def test_segment_table_weights_agree_with_the_overall_numbers() -> None:
    rng = np.random.default_rng(0)
    top = np.argsort(rng.random((40, 6)), axis=1)[:, :3]
    groups = np.where(np.arange(40) < 25, "A", "B").astype(object)
    sim = ItemSimilarity.from_categories(CATEGORIES)
    table = segment_table(top, 6, np.full(6, 0.25), sim, groups, 3)
    assert list(table) == ["all", "A", "B"]
    weighted = (25 * table["A"]["ild@3"] + 15 * table["B"]["ild@3"]) / 40
    assert table["all"]["ild@3"] == pytest.approx(weighted)
    assert table["all"]["novelty@3"] == pytest.approx(2.0)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
    from shopmind.store import Workspace
    from tests.conftest import TEST_KEY

    ws = Workspace(tmp_path_factory.mktemp("div") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=300, days=20, seed=5)), key=TEST_KEY)
    result = run_cli("--workspace", str(ws.root), "recommend", "train", "--model", "markov")
    assert result.returncode == 0, result.stderr
    return ws.root


@pytest.mark.slow
def test_cli_evaluate_reports_rfm_segments_and_mmr_raises_ild(shop: Path) -> None:
    base = ["--workspace", str(shop), "recommend", "evaluate", "--model", "markov", "--quiet"]
    plain = run_cli(*base, "--json")
    mmr_run = run_cli(*base, "--json", "--diversity", "mmr:0.3")
    assert plain.returncode == 0 and mmr_run.returncode == 0, plain.stderr + mmr_run.stderr
    before, after = plain.json(), mmr_run.json()
    assert before["diversity"] is None and after["diversity"]["mmr_lambda"] == 0.3
    assert after["metrics"]["ild@10"] > before["metrics"]["ild@10"]
    segments = before["customer_segments"]
    assert sum(s["cases"] for s in segments.values()) == before["cases"]
    assert {"Champions", "no purchase yet"} & set(segments)
    for row in segments.values():
        assert 0 <= row["coverage@10"] <= 1 and 0 <= row["ild@10"] <= 1


@pytest.mark.slow
def test_cli_batch_caps_categories_per_user(shop: Path) -> None:
    out = shop / "capped.csv"
    result = run_cli(
        "--workspace", str(shop), "recommend", "batch", "--model", "markov", "--k", "5",
        "--max-per-category", "1", "--no-reasons", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    per_user: dict[str, list[str]] = {}
    for row in rows:
        per_user.setdefault(row["user_id"], []).append(row["category"])
    assert rows and all(len(c) == len(set(c)) for c in per_user.values())
    bad = run_cli("--workspace", str(shop), "recommend", "batch", "--out", str(out),
                  "--diversity", "mmr:2")  # fmt: skip
    assert bad.returncode == 2 and "lambda in [0, 1]" in bad.stderr + bad.stdout


@pytest.mark.slow
def test_report_section_shows_served_list_diversity_per_segment(shop: Path) -> None:
    from shopmind.reports.sections import recommendations
    from shopmind.store import Workspace

    page = recommendations.build(Workspace(shop))
    assert page is not None
    part = page[page.index("Diversity of the served lists") :]
    assert "<th>ild@10</th>" in part and "<td>all</td>" in part
    assert "no purchase yet" in part or "Champions" in part
    assert "nan" not in part and "None" not in part
    import re

    from tests.conftest import scalar

    served = int(re.search(r"top 10, ([\d,]+) customers", part).group(1).replace(",", ""))
    assert 0 < served <= scalar(Workspace(shop), "SELECT count(*) FROM users")
