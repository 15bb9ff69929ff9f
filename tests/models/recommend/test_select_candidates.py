"""The default selection's candidates: factorisation, SLIST, content and attributes join when
they apply, and settings read only at scoring time are tried without refitting."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.errors import RecommendError
from shopmind.evaluation.splits import loo_split
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.registry import model_class
from shopmind.models.recommend.select import (
    DEFAULT_FAMILIES,
    applicable,
    select_model,
    tune_family,
    validation_ndcg,
)


def _tastes(n_users: int = 80, seed: int = 0):
    """Users draw unordered items from one of two taste groups (no sequential signal)."""
    rng = np.random.default_rng(seed)
    sequences = []
    for user in range(n_users):
        group = user % 2
        items = rng.choice(10, size=6, replace=False) + 10 * group
        sequences.append([f"i{i}" for i in items])
    return from_lists(sequences)


def test_every_default_family_is_tried_and_timed() -> None:
    split = loo_split(_tastes())
    messages: list[str] = []
    selection = select_model(split, k=5, log=messages.append)
    board = {row["model"]: row for row in selection.leaderboard}
    assert {"slist", "als", "bpr"} <= set(board)
    assert all(row["seconds"] >= 0 for name, row in board.items() if name != "hybrid")
    # no item text here: the content model is skipped and says why
    assert "content" not in board
    assert any(m.startswith("content: skipped") for m in messages)
    # the re-ranker's row (skipped here: too few cases) is measured on its own held-out cases
    assert board["hybrid+ranker"]["skipped"] and not board["hybrid+ranker"]["kept"]
    best = max(r["validation_ndcg@5"] for r in selection.leaderboard if "validation_ndcg@5" in r)
    assert selection.validation_ndcg == best


def test_content_applies_only_with_item_text_attributes_with_tags() -> None:
    data = _tastes()
    assert applicable("content", data) is not None
    assert applicable("attributes", data) is not None
    data.texts = {0: "red lipstick"}
    assert applicable("content", data) is None
    assert applicable("attributes", data) is not None
    data.tags = {0: ("category:beauty", "brand:rouge")}
    assert all(applicable(name, data) is None for name in DEFAULT_FAMILIES)


@pytest.mark.parametrize(
    ("name", "lacking", "hint"),
    [("content", "no text", "titles or descriptions"), ("attributes", "no category", "brand")],
)
def test_fit_refuses_what_the_selection_skips(name: str, lacking: str, hint: str) -> None:
    """One requirement per family: the reason the selection gives is the error ``fit`` raises."""
    data = _tastes()
    reason = applicable(name, data)
    assert reason is not None and lacking in reason
    with pytest.raises(RecommendError) as raised:
        model_class(name)().fit(data)
    assert reason in str(raised.value) and hint in raised.value.hint


def test_scoring_settings_reuse_the_fit_and_score_as_a_refit_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    split = loo_split(_tastes())
    cases = split.validation
    markov = model_class("markov")
    fits: list[object] = []
    original = markov._fit
    monkeypatch.setattr(markov, "_fit", lambda self, *a: (fits.append(self), original(self, *a)))
    config, score, _ = tune_family(
        "markov", split, cases, 5, lambda _: None, grid={"history_len": [1, 5], "window": [1]}
    )
    assert len(fits) == 2  # the defaults and window=1; history_len trials reuse a fit
    refit = markov(**config).fit(split.tune_data)
    assert validation_ndcg(refit, cases, 5) == score
