"""OpenDP mechanisms: scales, contribution bounds, composition and the noise they add.

OpenDP's samplers cannot be seeded, so noise is checked statistically: with n draws the mean
absolute error of Laplace(b) noise has mean ~b and standard deviation ~b / sqrt(n); the
bounds below (b / 3 .. 3 b with n >= 3000) are more than 30 standard deviations away, so a
correct mechanism fails with probability far below 1e-9.
"""

from __future__ import annotations

import math
import random

import pytest

from shopmind.privacy import dp

KEYS = ("a", "b", "c")


def _key(record: tuple[str, float]) -> str:
    return record[0]


def _value(record: tuple[str, float]) -> float:
    return record[1]


def _records(n: int, seed: int = 0) -> list[tuple[str, float]]:
    rng = random.Random(seed)
    return [(rng.choice([*KEYS, "zz"]), rng.uniform(-500, 3000)) for _ in range(n)]


def test_scale_is_sensitivity_over_epsilon() -> None:
    assert dp.laplace_scale(1.0, 1.0) == 1.0
    assert dp.laplace_scale(0.1, 1.0) == pytest.approx(10.0)
    assert dp.laplace_scale(0.5, 5000.0) == pytest.approx(10_000.0)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.nan, math.inf, 1e-300, 1e-4, 1e5])
def test_bad_epsilon_is_refused_with_a_hint(epsilon: float) -> None:
    """1e-300 overflowed the noisy counts (a purchase count of 2,147,483,647)."""
    with pytest.raises(dp.DPError, match=r"Epsilon must be between 0\.001 and 10000") as info:
        dp.plan([dp.count_by_key("n", KEYS, _key)], epsilon)
    assert "--epsilon" in info.value.hint


def test_empty_clamping_bounds_are_refused() -> None:
    with pytest.raises(dp.DPError, match="empty"):
        dp.clamped_sum_by_key("s", KEYS, _key, _value, (10.0, 0.0))


def test_plan_splits_epsilon_and_opendp_accounts_the_composition() -> None:
    counts = dp.count_by_key("customers", KEYS, _key)
    sums = dp.clamped_sum_by_key("revenue", KEYS, _key, _value, (0.0, 1000.0))
    plan = dp.plan([counts, sums], 1.0)
    assert plan.epsilon == pytest.approx(1.0)  # OpenDP's map of the composition at d_in = 1
    assert plan.scales == pytest.approx((2.0, 2000.0))
    described = plan.describe()
    assert described["customers"]["mechanism"] == "discrete Laplace"
    assert described["revenue"]["mechanism"] == "Laplace"
    assert described["revenue"]["sensitivity"] == 1000.0
    # a measurement over two users (d_in = 2) costs twice as much: the unit is one user
    assert float(plan.measurement.map(2)) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "query",
    [
        dp.count_by_key("n", KEYS, _key),
        dp.clamped_sum_by_key("s", KEYS, _key, _value, (0.0, 1000.0)),
        dp.clamped_sum_by_key("s2", KEYS, _key, _value, (-200.0, 50.0)),
        dp.count_cells("cells", KEYS, lambda r: ["a", "b", "c", "a"] if r[1] > 0 else ["c"], 2),
    ],
    ids=["count", "sum", "signed-sum", "cells"],
)
def test_stated_sensitivity_bounds_every_neighbour(query: dp.Query) -> None:
    """Removing any one user's record moves the vector by at most the stated L1 bound."""
    records = [*_records(200, seed=3), ("a", 1e9), ("b", -1e9)]
    full = query.function(records)
    worst = 0.0
    for i in range(len(records)):
        neighbour = query.function(records[:i] + records[i + 1 :])
        worst = max(worst, sum(abs(x - y) for x, y in zip(full, neighbour, strict=True)))
    assert worst <= query.sensitivity + 1e-6
    assert worst >= query.sensitivity / 4  # the bound is attained, not vacuous


def test_clamping_keeps_sums_inside_bounds() -> None:
    sums = dp.clamped_sum_by_key("s", KEYS, _key, _value, (0.0, 100.0))
    assert sums.function([("a", 1e6), ("a", -50.0), ("b", 30.0), ("zz", 5.0)]) == [100.0, 30.0, 0.0]


def _noise(plan: dp.Plan, records: list[tuple[str, float]], draws: int) -> dict[str, list[float]]:
    exact = {q.name: q.function(records) for q in plan.queries}
    errors: dict[str, list[float]] = {q.name: [] for q in plan.queries}
    for _ in range(draws):
        for name, values in plan.invoke(records).items():
            errors[name].extend(v - t for v, t in zip(values, exact[name], strict=True))
    return errors


@pytest.mark.parametrize("epsilon", [1.0, 0.1])
def test_noise_matches_the_stated_scale(epsilon: float) -> None:
    records = _records(300)
    plan = dp.plan(
        [
            dp.count_by_key("customers", KEYS, _key),
            dp.clamped_sum_by_key("revenue", KEYS, _key, _value, (0.0, 1000.0)),
        ],
        epsilon,
    )
    errors = _noise(plan, records, draws=1000)  # 3000 values per query
    for (name, values), scale in zip(errors.items(), plan.scales, strict=True):
        mae = sum(abs(e) for e in values) / len(values)
        bias = sum(values) / len(values)
        assert scale / 3 < mae < 3 * scale, (name, mae, scale)
        assert abs(bias) < scale / 2, (name, bias, scale)  # unbiased: > 19 standard errors away
    counts = errors["customers"]
    assert all(float(e).is_integer() for e in counts)  # discrete Laplace on integer counts


def test_smaller_epsilon_gives_proportionally_more_noise() -> None:
    records = _records(100)
    query = dp.count_by_key("n", KEYS, _key)
    mae = {}
    for epsilon in (1.0, 0.1):
        errors = _noise(dp.plan([query], epsilon), records, draws=1000)["n"]
        mae[epsilon] = sum(abs(e) for e in errors) / len(errors)
    assert 5 < mae[0.1] / mae[1.0] < 20  # theory: ~10.8 for discrete Laplace at b = 1 vs 10
