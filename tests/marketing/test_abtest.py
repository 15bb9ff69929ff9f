"""A/B analysis: statistics against statsmodels/scipy references and the simulated campaign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopmind.marketing.abtest import (
    achieved_power,
    analyze,
    conversion_test,
    cuped,
    sample_size_per_arm,
    srm_check,
)
from shopmind.store import Workspace
from tests.conftest import run_cli


def test_conversion_z_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(1)
    x_t = (rng.random(3000) < 0.12).astype(float)
    x_c = (rng.random(3100) < 0.10).astype(float)
    ours = conversion_test(x_t, x_c)
    z, p = proportions_ztest([x_t.sum(), x_c.sum()], [len(x_t), len(x_c)])
    assert ours["z"] == pytest.approx(z) and ours["p_value"] == pytest.approx(p)
    assert ours["ci_low"] < ours["difference"] < ours["ci_high"]


def test_sample_size_gives_the_requested_power() -> None:
    n = sample_size_per_arm(0.10, 0.10)
    assert 14_000 < n < 15_500  # classic figure for 10% -> 11% at alpha 0.05, power 0.8
    assert achieved_power(0.10, 0.11, n, n) == pytest.approx(0.8, abs=0.01)


def test_cuped_reduces_variance_and_its_interval_covers_the_effect() -> None:
    covered, reductions = 0, []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        pre = rng.gamma(2, 10, 4000)
        arm = rng.integers(0, 2, 4000)
        y = pre * 0.8 + rng.normal(0, 5, 4000) + 1.0 * arm
        result = cuped(y[arm == 1], y[arm == 0], pre[arm == 1], pre[arm == 0])
        covered += result["ci_low"] < 1.0 < result["ci_high"]
        reductions.append(result["variance_reduction"])
    assert min(reductions) > 0.5
    assert covered >= 34  # a 95% interval: about 38 of 40


def test_sample_ratio_mismatch_is_flagged() -> None:
    assert srm_check({"a": 52_000, "b": 48_000}, {"a": 0.5, "b": 0.5})["mismatch"]
    assert not srm_check({"a": 50_100, "b": 49_900}, {"a": 0.5, "b": 0.5})["mismatch"]


def test_unknown_columns_and_control_are_clear_errors() -> None:
    frame = pd.DataFrame({"variant": ["a", "b"], "converted": [0, 1]})
    with pytest.raises(Exception, match="Values present"):
        analyze(frame, "variant", "control", "converted")
    with pytest.raises(Exception, match="not in the data"):
        analyze(frame, "arm", "a", "converted")
    money = pd.DataFrame({"variant": ["a", "b", "a"], "spend": [0.0, 29.99, 0.0]})
    with pytest.raises(Exception, match=r"not a yes/no outcome.*29\.99.*--revenue-col"):
        analyze(money, "variant", "a", "spend")
    # yes/no reads like 1/0; a missing conversion is an error, never a 0
    words = pd.DataFrame({"variant": ["a", "b"] * 20, "buy": ["No", "Yes", "yes", "no"] * 10})
    numbers = words.assign(buy=(words["buy"].str.lower() == "yes").astype(int))
    assert analyze(words, "variant", "a", "buy") == analyze(numbers, "variant", "a", "buy")
    with pytest.raises(Exception, match="1 of 40 rows have no value in 'buy'"):
        analyze(words.assign(buy=words["buy"].where(words.index != 3)), "variant", "a", "buy")


def test_simulated_campaign_effect_is_found(sim_ws: Workspace) -> None:
    import json

    truth = json.loads(next((sim_ws.raw_dir).glob("simulated_seed*/truth.json")).read_text())
    planted = truth["campaign"]["planted_ate"]
    result = run_cli(
        "--workspace",
        str(sim_ws.root),
        "abtest",
        "analyze",
        "--campaign",
        truth["campaign"]["campaign_id"],
        "--json",
    )
    assert result.returncode == 0, result.stderr
    email = result.json()["variants"]["email"]
    conversion = email["conversion"]
    assert conversion["p_value"] < 0.01
    assert conversion["ci_low"] <= planted <= conversion["ci_high"]
    assert email["revenue"]["difference"] > 0 and "revenue_cuped" in email
    assert not result.json()["srm"]["mismatch"]
