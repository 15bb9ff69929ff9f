"""A/B test analysis for a randomised experiment with a control arm.

* conversion: two-proportion z-test (pooled SE for the test, unpooled for the 95% CI);
* revenue per user: Welch's t-test and a percentile bootstrap CI of the difference;
* CUPED (Deng et al. 2013): ``y - theta (x - mean x)`` with a pre-experiment covariate ``x``,
  ``theta = cov(y, x) / var(x)`` on the pooled sample; reports the variance reduction;
* sample-ratio mismatch: chi-square against the expected split (flag when p < 0.001);
* power: sample size per arm to detect a relative lift of the control rate, and the power
  achieved for the observed difference (normal approximation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from shopmind.errors import ShopmindError

SRM_P_THRESHOLD = 0.001


def conversion_test(x_t: np.ndarray, x_c: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
    n_t, n_c = len(x_t), len(x_c)
    p_t, p_c = float(x_t.mean()), float(x_c.mean())
    pooled = (x_t.sum() + x_c.sum()) / (n_t + n_c)
    se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    z = (p_t - p_c) / se_pooled if se_pooled > 0 else 0.0
    se = np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    q = stats.norm.ppf(1 - alpha / 2)
    return {
        "rate_treatment": p_t,
        "rate_control": p_c,
        "difference": p_t - p_c,
        "relative_lift": (p_t - p_c) / p_c if p_c else float("nan"),
        "z": float(z),
        "p_value": float(2 * stats.norm.sf(abs(z))),
        "ci_low": p_t - p_c - q * se,
        "ci_high": p_t - p_c + q * se,
    }


def welch_test(y_t: np.ndarray, y_c: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
    result = stats.ttest_ind(y_t, y_c, equal_var=False)
    var_t, var_c = y_t.var(ddof=1) / len(y_t), y_c.var(ddof=1) / len(y_c)
    dof = (var_t + var_c) ** 2 / (var_t**2 / (len(y_t) - 1) + var_c**2 / (len(y_c) - 1))
    q = stats.t.ppf(1 - alpha / 2, dof)
    diff = float(y_t.mean() - y_c.mean())
    se = np.sqrt(var_t + var_c)
    return {
        "mean_treatment": float(y_t.mean()),
        "mean_control": float(y_c.mean()),
        "difference": diff,
        "t": float(result.statistic),
        "df": float(dof),
        "p_value": float(result.pvalue),
        "ci_low": diff - q * se,
        "ci_high": diff + q * se,
    }


def bootstrap_ci(
    y_t: np.ndarray, y_c: np.ndarray, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        diffs[i] = rng.choice(y_t, len(y_t)).mean() - rng.choice(y_c, len(y_c)).mean()
    return float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))


def cuped(
    y_t: np.ndarray, y_c: np.ndarray, x_t: np.ndarray, x_c: np.ndarray, alpha: float = 0.05
) -> dict[str, float]:
    y, x = np.r_[y_t, y_c], np.r_[x_t, x_c]
    var_x = x.var(ddof=1)
    if var_x == 0:
        raise ShopmindError(
            "The CUPED covariate is constant.",
            hint="Use a pre-experiment metric that varies between users.",
        )
    theta = float(np.cov(y, x, ddof=1)[0, 1] / var_x)
    adjust = lambda v, c: v - theta * (c - x.mean())  # noqa: E731
    adj_t, adj_c = adjust(y_t, x_t), adjust(y_c, x_c)
    result = welch_test(adj_t, adj_c, alpha)
    before = y_t.var(ddof=1) / len(y_t) + y_c.var(ddof=1) / len(y_c)
    after = adj_t.var(ddof=1) / len(adj_t) + adj_c.var(ddof=1) / len(adj_c)
    return {**result, "theta": theta, "variance_reduction": float(1 - after / before)}


def srm_check(counts: dict[str, int], expected: dict[str, float]) -> dict[str, Any]:
    names = list(counts)
    observed = np.array([counts[n] for n in names], dtype=float)
    shares = np.array([expected[n] for n in names], dtype=float)
    result = stats.chisquare(observed, observed.sum() * shares / shares.sum())
    return {
        "counts": counts,
        "expected_shares": expected,
        "chi2": float(result.statistic),
        "p_value": float(result.pvalue),
        "mismatch": bool(result.pvalue < SRM_P_THRESHOLD),
    }


def sample_size_per_arm(
    p_control: float, relative_lift: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per arm to detect ``p_control * (1 + relative_lift)`` (two-sided)."""
    p_t = p_control * (1 + relative_lift)
    z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    variance = p_control * (1 - p_control) + p_t * (1 - p_t)
    return int(np.ceil((z_a + z_b) ** 2 * variance / (p_t - p_control) ** 2))


def achieved_power(p_c: float, p_t: float, n_t: int, n_c: int, alpha: float = 0.05) -> float:
    se = np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    if se == 0:
        return float("nan")
    z_a = stats.norm.ppf(1 - alpha / 2)
    shift = abs(p_t - p_c) / se
    return float(stats.norm.sf(z_a - shift) + stats.norm.cdf(-z_a - shift))


def analyze(
    frame: pd.DataFrame,
    variant_col: str,
    control: str,
    conversion_col: str | None,
    revenue_col: str | None = None,
    pre_col: str | None = None,
    expected: dict[str, float] | None = None,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """Every non-control variant against ``control``."""
    for column in [variant_col, conversion_col, revenue_col, pre_col]:
        if column and column not in frame.columns:
            raise ShopmindError(
                f"Column '{column}' not in the data (found: {', '.join(frame.columns)}).",
                hint="Name the columns with --variant-col, --conversion-col, "
                "--revenue-col, --pre-col.",
            )
    if conversion_col:
        from shopmind.features.outcomes import binary_outcome

        try:  # 1/0, yes/no, true/false; a missing value is an error, not a 0
            converted = binary_outcome(frame[conversion_col], conversion_col, "--conversion-col")
        except ShopmindError as exc:
            raise ShopmindError(
                str(exc.args[0]), hint=f"{exc.hint} Money per user goes in --revenue-col."
            ) from exc
        frame = frame.assign(**{conversion_col: converted})
    arms = frame[variant_col].astype(str)
    if control not in set(arms):
        raise ShopmindError(
            f"Control '{control}' not in column '{variant_col}'.",
            hint=f"Values present: {', '.join(sorted(set(arms)))}.",
        )
    counts = {str(k): int(v) for k, v in arms.value_counts().items()}
    shares = expected or {name: 1.0 / len(counts) for name in counts}
    result: dict[str, Any] = {
        "control": control,
        "users": len(frame),
        "srm": srm_check({str(k): int(v) for k, v in counts.items()}, shares),
        "variants": {},
    }
    if expected is None and result["srm"]["mismatch"]:
        seen = ",".join(f"{k}={v / len(frame):.2f}" for k, v in counts.items())
        result["srm"]["note"] = (
            "checked against an equal split; if the design was unequal, give it with "
            f"--expected-split (the observed shares: {seen})"
        )
    for variant in sorted(set(arms) - {control}):
        t, c = frame[arms == variant], frame[arms == control]
        entry: dict[str, Any] = {"users_treatment": len(t), "users_control": len(c)}
        if conversion_col:
            x_t = pd.to_numeric(t[conversion_col]).to_numpy(dtype=float)
            x_c = pd.to_numeric(c[conversion_col]).to_numpy(dtype=float)
            conv: dict[str, Any] = dict(conversion_test(x_t, x_c, alpha))
            conv["achieved_power"] = achieved_power(
                conv["rate_control"], conv["rate_treatment"], len(t), len(c), alpha
            )
            conv["sample_size_per_arm_for_10pct_lift"] = (
                sample_size_per_arm(conv["rate_control"], 0.10, alpha)
                if 0 < conv["rate_control"] < 1
                else None
            )
            entry["conversion"] = conv
        if revenue_col:
            y_t = pd.to_numeric(t[revenue_col]).fillna(0).to_numpy(dtype=float)
            y_c = pd.to_numeric(c[revenue_col]).fillna(0).to_numpy(dtype=float)
            revenue = welch_test(y_t, y_c, alpha)
            revenue["bootstrap_ci_low"], revenue["bootstrap_ci_high"] = bootstrap_ci(
                y_t, y_c, seed=seed, alpha=alpha
            )
            entry["revenue"] = revenue
            if pre_col:
                x_t = pd.to_numeric(t[pre_col]).fillna(0).to_numpy(dtype=float)
                x_c = pd.to_numeric(c[pre_col]).fillna(0).to_numpy(dtype=float)
                entry["revenue_cuped"] = cuped(y_t, y_c, x_t, x_c, alpha)
        result["variants"][variant] = entry
    return result
