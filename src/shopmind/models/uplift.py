"""Uplift models: who changes behaviour because of a treatment (an e-mail, a coupon).

Candidates, compared on a validation split by the Qini coefficient, the best refitted on all
training rows (one model per treatment against the control):

* ``t``: T-learner, one outcome model per arm (causalml ``BaseTClassifier``);
* ``x``: X-learner (Künzel et al. 2019, causalml ``BaseXClassifier``);
* ``s``: S-learner, one model with the treatment as a feature;
* ``ct``: class transformation (Jaskowski & Jaroszewicz 2012): predict
  ``z = y*t + (1-y)*(1-t)``; uplift = ``2 P(z=1) - 1`` (arms balanced by weights).

Outcome models are LightGBM with small trees and strong leaf regularisation (uplift signals
are weak), or logistic regression (``base='logistic'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from shopmind.errors import ShopmindError
from shopmind.evaluation.uplift import qini_coefficient, uplift_at_k
from shopmind.models.base import Model, ModelConfig
from shopmind.models.shared import lightgbm

LearnerKind = Literal["t", "x", "s", "ct"]
LEARNERS: tuple[LearnerKind, ...] = ("t", "x", "s", "ct")


class UpliftConfig(ModelConfig):
    """Candidate learners (t, x, s, ct) and outcome models (lightgbm, logistic); the share
    of rows held out to choose among them by Qini."""

    learners: tuple[LearnerKind, ...] = LEARNERS
    bases: tuple[Literal["lightgbm", "logistic"], ...] = ("lightgbm", "logistic")
    validation_fraction: float = Field(0.3, gt=0.0, lt=1.0)


def _classifier(base: str, seed: int) -> Any:
    if base == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return lightgbm("classifier", seed)


def _regressor(base: str, seed: int) -> Any:
    if base == "logistic":
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0)
    return lightgbm("regressor", seed)


@dataclass
class _Learner:
    """One fitted learner for one treatment against control."""

    kind: str
    base: str
    models: list[Any] = field(default_factory=list)
    propensity: float = 0.5

    def fit(self, x: np.ndarray, t: np.ndarray, y: np.ndarray, seed: int) -> _Learner:
        self.propensity = float(t.mean())
        if self.kind == "t":
            m1 = _classifier(self.base, seed).fit(x[t == 1], y[t == 1])
            m0 = _classifier(self.base, seed).fit(x[t == 0], y[t == 0])
            self.models = [m1, m0]
        elif self.kind == "s":
            self.models = [_classifier(self.base, seed).fit(np.c_[x, t], y)]
        elif self.kind == "ct":
            z = y * t + (1 - y) * (1 - t)
            weights = np.where(t == 1, 0.5 / self.propensity, 0.5 / (1 - self.propensity))
            model = _classifier(self.base, seed)
            if self.base == "logistic":
                model.fit(x, z, logisticregression__sample_weight=weights)
            else:
                model.fit(x, z, sample_weight=weights)
            self.models = [model]
        elif self.kind == "x":
            from causalml.inference.meta import BaseXClassifier

            learner = BaseXClassifier(
                outcome_learner=_classifier(self.base, seed),
                effect_learner=_regressor(self.base, seed),
            )
            learner.fit(x, treatment=t, y=y, p=np.full(len(t), self.propensity))
            self.models = [learner]
        else:
            raise ShopmindError(
                f"Unknown uplift learner '{self.kind}'.", hint=f"Use one of {', '.join(LEARNERS)}."
            )
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "t":
            return self.models[0].predict_proba(x)[:, 1] - self.models[1].predict_proba(x)[:, 1]
        if self.kind == "s":
            model = self.models[0]
            ones, zeros = np.ones((len(x), 1)), np.zeros((len(x), 1))
            return (
                model.predict_proba(np.c_[x, ones])[:, 1]
                - model.predict_proba(np.c_[x, zeros])[:, 1]
            )
        if self.kind == "ct":
            return 2 * self.models[0].predict_proba(x)[:, 1] - 1
        return np.asarray(self.models[0].predict(x, p=np.full(len(x), self.propensity))).ravel()


class UpliftModel(Model):
    """Per-treatment uplift with learner selection on a validation split."""

    name = "uplift"
    config_class = UpliftConfig
    train_command = "shopmind uplift train --data FILE --treatment-col C --outcome COL ..."
    config: UpliftConfig

    def fit(
        self,
        features: pd.DataFrame,
        treatment: pd.Series,
        outcome: pd.Series,
        treatments: list[str],
        control: str,
    ) -> UpliftModel:
        from sklearn.model_selection import train_test_split

        self.feature_names_ = list(features.columns)
        self.columns_ = list(_encode(features).columns)
        x_all = _encode(features, self.columns_).to_numpy(dtype=float)
        y_all = _binary_outcome(outcome)
        arm = treatment.astype(str).to_numpy()
        self.treatments_, self.control_ = list(treatments), control
        self.learners_: dict[str, _Learner] = {}
        self.validation_: dict[str, dict[str, float]] = {}
        for name in treatments:
            rows = np.isin(arm, [name, control])
            x, y = x_all[rows], y_all[rows]
            t = (arm[rows] == name).astype(int)
            fit_idx, val_idx = train_test_split(
                np.arange(len(t)),
                test_size=self.config.validation_fraction,
                random_state=self.config.seed,
                stratify=t * 2 + y,
            )
            scores = {}
            for kind in self.config.learners:
                for base in self.config.bases:
                    learner = _Learner(kind, base).fit(
                        x[fit_idx], t[fit_idx], y[fit_idx], self.config.seed
                    )
                    u = learner.predict(x[val_idx])
                    scores[f"{kind}/{base}"] = qini_coefficient(y[val_idx], t[val_idx], u)
            best = max(scores, key=lambda key: scores[key])
            best_kind, best_base = best.split("/")
            self.learners_[name] = _Learner(best_kind, best_base).fit(x, t, y, self.config.seed)
            self.validation_[name] = {"chosen": best, **{k: round(v, 6) for k, v in scores.items()}}  # type: ignore[dict-item]
        return self

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """One column per treatment: predicted uplift (probability difference)."""
        self.check_fitted()
        x = _encode(features, self.columns_).to_numpy(dtype=float)
        return pd.DataFrame({name: self.learners_[name].predict(x) for name in self.treatments_})


def _encode(features: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Numbers as they are, text one-hot; aligned to ``columns`` when given."""
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    encoded = pd.get_dummies(features, columns=text, dtype=float).fillna(0.0)
    if columns is not None:
        encoded = encoded.reindex(columns=columns, fill_value=0.0)
    return encoded


def _binary_outcome(outcome: pd.Series) -> np.ndarray:
    """1 when the outcome happened: a positive number (a spend counts as converted) or a
    yes/true/y (:func:`~shopmind.features.outcomes.binary_outcome`); missing is an error."""
    from shopmind.features.outcomes import binary_outcome

    values = pd.to_numeric(outcome, errors="coerce")
    if values.notna().all():
        y = (values.to_numpy(dtype=float) > 0).astype(int)
    else:
        y = binary_outcome(outcome, str(outcome.name), "--outcome")
    if y.min() == y.max():
        raise ShopmindError(
            "The outcome is constant: there is nothing to model.",
            hint="Choose an outcome with both 0 and 1 values.",
        )
    return y


def evaluate(y: np.ndarray, t: np.ndarray, uplift: np.ndarray, k: float = 0.3) -> dict[str, float]:
    from shopmind.evaluation.uplift import auuc

    return {
        "qini": qini_coefficient(y, t, uplift),
        "auuc": auuc(y, t, uplift),
        f"uplift_at_{int(k * 100)}": uplift_at_k(y, t, uplift, k),
    }
