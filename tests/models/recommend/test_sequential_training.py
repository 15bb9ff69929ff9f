"""Training options of the neural sequential recommenders: learning-rate scaling for big
batches, bf16 mixed precision, per-epoch times (what benchmarks/sequential.py reports), the
wall-clock cap and which epochs are validated."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.evaluation.splits import loo_split
from shopmind.features.sequences import from_lists
from shopmind.models.recommend.registry import model_class
from shopmind.models.recommend.sequential import SequentialConfig, _sampling_distribution

TINY = {"hidden": 16, "layers": 1, "max_len": 6, "batch_size": 8, "dropout": 0.0}


def test_learning_rate_scales_with_the_batch() -> None:
    base = {"learning_rate": 0.002, "batch_size": 1024}
    assert SequentialConfig(**base).effective_learning_rate() == pytest.approx(0.002)
    assert SequentialConfig(**base, lr_scaling="sqrt").effective_learning_rate() == (
        pytest.approx(0.002 * 8**0.5)
    )
    assert SequentialConfig(**base, lr_scaling="linear").effective_learning_rate() == (
        pytest.approx(0.016)
    )
    # the reference batch keeps the given rate whatever the rule
    assert SequentialConfig(learning_rate=0.01, lr_scaling="linear").effective_learning_rate() == (
        pytest.approx(0.01)
    )


def _cycles() -> object:
    """Every user walks the same cycle a -> b -> c -> d -> e, from a different start."""
    ring = ["a", "b", "c", "d", "e"]
    lists = [[ring[(s + i) % 5] for i in range(7)] for s in range(5) for _ in range(8)]
    return from_lists(lists, [f"u{i}" for i in range(len(lists))])


@pytest.mark.parametrize("name", ["sasrec", "gru4rec"])
def test_bf16_mixed_precision_learns_the_cycle(name: str) -> None:
    data = _cycles()
    common = {**TINY, "epochs": 30, "learning_rate": 0.02, "device": "cpu", "seed": 0}
    fp32 = model_class(name)(**common).fit(data)
    bf16 = model_class(name)(**common, precision="bf16").fit(data)
    # autocast really ran: the two trainings differ in their weights...
    assert any(not np.array_equal(fp32.weights_[k], bf16.weights_[k]) for k in fp32.weights_)
    # ...and both learned the next step of the cycle
    for model in (fp32, bf16):
        nexts = [recs[0][0] for recs in model.recommend_next([["a", "b"], ["c", "d"]], k=1)]
        assert nexts == ["c", "e"]
    assert len(bf16.epoch_times_) == 30 and all(t > 0 for t in bf16.epoch_times_)


def test_the_time_cap_stops_before_an_epoch_that_would_pass_it() -> None:
    """A cap far below one epoch's time: one epoch trains, and it is validated although
    ``eval_every`` would validate first after epoch 2 (its training is not thrown away)."""
    split = loo_split(_cycles())
    messages: list[str] = []
    model = model_class("gru4rec")(**TINY, epochs=10, eval_every=2, max_minutes=1e-9)
    model.progress = messages.append
    model.fit(split.tune_data, split.validation)
    assert len(model.epoch_times_) == 1
    assert model.best_epoch_ == 1 and model.best_validation_ is not None
    assert "validation ndcg@10" in messages[0]
    assert "another epoch would pass" in messages[-1]


def test_the_final_epoch_is_validated() -> None:
    split = loo_split(_cycles())
    messages: list[str] = []
    model = model_class("gru4rec")(**TINY, epochs=3, eval_every=2, patience=10)
    model.progress = messages.append
    model.fit(split.tune_data, split.validation)
    validated = ["validation" in m for m in messages]
    assert validated == [False, True, True]  # epoch 2 by eval_every, epoch 3 as the last


def test_sampled_softmax_draws_items_by_training_frequency() -> None:
    # targets as indices + 1 (0 = padding): item 1 four times, item 2 once, item 3 never
    targets = np.array([[0, 1, 1], [1, 2, 1]])
    probability, log_expected = _sampling_distribution(targets, n_items=3, device="cpu")
    assert probability.tolist() == pytest.approx([0.0, 5 / 8, 2 / 8, 1 / 8])  # counts + 1
    assert log_expected[1:].tolist() == pytest.approx(np.log([5 / 8, 2 / 8, 1 / 8]).tolist())
    assert log_expected[0].item() == 0.0  # padding: never drawn, no correction needed


@pytest.mark.parametrize("name", ["sasrec", "gru4rec"])
def test_sampled_softmax_learns_the_cycle(name: str) -> None:
    data = _cycles()
    common = {**TINY, "epochs": 30, "learning_rate": 0.02, "device": "cpu", "seed": 0}
    model = model_class(name)(**common, loss="sampled", negatives=3).fit(data)
    nexts = [recs[0][0] for recs in model.recommend_next([["a", "b"], ["c", "d"]], k=1)]
    assert nexts == ["c", "e"]
    assert not hasattr(model, "_sampling")  # a training helper, not saved state
