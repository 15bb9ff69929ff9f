"""Candidate scorers for propensity, chosen on a temporal validation snapshot.

Small shops have few positives, where boosted trees can lose to a plain ranking by one
feature (e.g. past purchases). So the propensity model fits a regularised LightGBM, an L2
logistic regression on ``log1p`` counts, their equal-weight ensemble (the mean of the two
standardised log-odds scores) and every single feature (either direction) and keeps the best
by validation ROC-AUC: by construction it never loses to the best single feature on
validation. Each candidate gives raw scores (calibrated afterwards) and per-feature
contributions in log-odds-like units for the reasons (TreeSHAP for LightGBM,
``coef * (z - mean z)`` for the linear model, the standardised value for one feature, the
same mean of standardised parts for the ensemble).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopmind.features.leakage import roc_auc
from shopmind.models.shared import lightgbm


def _log1p(x: np.ndarray) -> np.ndarray:
    """Signed log1p: counts and days get a scale where linear effects make sense."""
    return np.sign(x) * np.log1p(np.abs(x))


def lightgbm_for(rows: int, seed: int) -> Any:
    """LightGBM regularised for the data size: stumps-like trees under 5,000 training rows
    (a few hundred positives), the shop-size settings above."""
    if rows < 5_000:
        return lightgbm(
            "classifier",
            seed,
            n_estimators=150,
            learning_rate=0.03,
            num_leaves=3,
            min_child_samples=max(20, rows // 200),
            reg_lambda=5.0,
        )
    return lightgbm(
        "classifier",
        seed,
        n_estimators=200,
        learning_rate=0.03,
        min_child_samples=40,
        reg_lambda=1.0,
    )


@dataclass
class Candidate:
    """One scorer: ``kind`` in lightgbm | logistic | ensemble | feature; ``feature``/``sign``
    for the last."""

    kind: str
    feature: int = -1
    sign: float = 1.0
    model: Any = None
    mean_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale_: np.ndarray = field(default_factory=lambda: np.ones(0))
    parts_: list[Candidate] = field(default_factory=list)
    part_mean_: np.ndarray = field(default_factory=lambda: np.zeros(0))
    part_scale_: np.ndarray = field(default_factory=lambda: np.ones(0))

    @property
    def label(self) -> str:
        return self.kind

    def fresh(self) -> Candidate:
        """An unfitted candidate of the same kind (to refit on more rows)."""
        return Candidate(self.kind, self.feature, self.sign)

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> Candidate:
        z = _log1p(x)
        self.mean_, self.scale_ = z.mean(axis=0), z.std(axis=0) + 1e-9
        if self.kind == "lightgbm":
            self.model = lightgbm_for(len(y), seed).fit(x, y)
        elif self.kind == "logistic":
            from sklearn.linear_model import LogisticRegression

            self.model = LogisticRegression(C=0.1, max_iter=3000)
            self.model.fit((z - self.mean_) / self.scale_, y)
        elif self.kind == "ensemble":
            parts = [Candidate(k).fit(x, y, seed) for k in ("lightgbm", "logistic")]
            self.combine(parts, x)
        return self

    def combine(self, parts: list[Candidate], x: np.ndarray) -> Candidate:
        """Make this an ensemble of fitted ``parts``, each standardised on ``x`` (training)."""
        self.parts_ = parts
        raw = np.column_stack([p.log_odds(x) for p in parts])
        self.part_mean_, self.part_scale_ = raw.mean(axis=0), raw.std(axis=0) + 1e-9
        return self

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """The score on a log-odds-like scale (LightGBM's raw margin, not its probability)."""
        if self.kind == "lightgbm":
            return np.asarray(self.model.predict(x, raw_score=True))
        return self.score(x)

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "lightgbm":
            return np.asarray(self.model.predict_proba(x)[:, 1])
        if self.kind == "ensemble":
            raw = np.column_stack([p.log_odds(x) for p in self.parts_])
            return np.asarray(((raw - self.part_mean_) / self.part_scale_).mean(axis=1))
        z = (_log1p(x) - self.mean_) / self.scale_
        if self.kind == "logistic":
            return np.asarray(self.model.decision_function(z))
        return self.sign * z[:, self.feature]

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(rows, features): how much each feature pushed each row's score (log-odds-like)."""
        if self.kind == "lightgbm":
            return np.asarray(self.model.predict(x, pred_contrib=True))[:, :-1]
        if self.kind == "ensemble":
            each = [
                p.contributions(x) / s for p, s in zip(self.parts_, self.part_scale_, strict=True)
            ]
            return np.asarray(sum(each) / len(each))
        z = (_log1p(x) - self.mean_) / self.scale_
        if self.kind == "logistic":
            return z * self.model.coef_[0]
        out = np.zeros_like(z)
        out[:, self.feature] = self.sign * z[:, self.feature]
        return out


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC, NaN when ``y`` has one class (:func:`shopmind.features.leakage.roc_auc`)."""
    return roc_auc(y, score)


def choose(
    names: list[str],
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    seed: int,
) -> tuple[Candidate, dict[str, float], dict[str, Any]]:
    """Fit every candidate on ``train``; return the best on ``validation`` (ROC-AUC), the
    validation AUC of each model candidate and the best single feature."""
    (xt, yt), (xv, yv) = train, validation
    fitted = [Candidate("lightgbm").fit(xt, yt, seed), Candidate("logistic").fit(xt, yt, seed)]
    fitted.append(Candidate("ensemble").combine(fitted[:2], xt))
    aucs = {c.kind: auc(yv, c.score(xv)) for c in fitted}
    best_single = (-1.0, -1, 1.0)
    for j in range(xt.shape[1]):
        value = auc(yv, xv[:, j])
        if np.isnan(value):
            continue
        for sign, a in ((1.0, value), (-1.0, 1.0 - value)):
            best_single = max(best_single, (a, j, sign))
    a, j, sign = best_single
    single: dict[str, Any] = {}
    if j >= 0:
        feature = Candidate("feature", feature=j, sign=sign).fit(xt, yt, seed)
        fitted.append(feature)
        aucs["single_feature"] = a
        single = {"feature": names[j], "direction": "higher" if sign > 0 else "lower", "auc": a}
    ranked = sorted(
        zip(
            fitted,
            [aucs[c.kind if c.kind != "feature" else "single_feature"] for c in fitted],
            strict=True,
        ),
        key=lambda pair: -np.nan_to_num(pair[1], nan=-1.0),
    )
    return ranked[0][0], aucs, single
