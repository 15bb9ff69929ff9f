"""Risk models: a calibrated 0-100 score with reasons in words.

* **supervised** (enough labels): LightGBM with early stopping on a time-ordered validation
  split (the newest rows; a stratified split when there is no time axis or the newest rows
  hold too few positives), then refitted on every row; a logistic-regression baseline is
  measured on the same split. The score is ``100 * P(bad)``, Platt-calibrated on the
  validation rows (monotone, so the ranking is the model's own).
* **unsupervised** (no labels): PyOD detectors (Isolation Forest, ECOD, COPOD). No detector
  dominates (ADBench, Han et al. 2022), so the default averages their rank-normalised
  scores. The score is the share of training rows less anomalous (99 = top 1%).
* **blend** (few labels): a logistic stacker on the validation rows combines the supervised
  log-odds and the detectors' rank, then is applied to both refitted on every row.

Reasons: TreeSHAP contributions of LightGBM (log-odds) for supervised and blended scores;
for detectors, the features whose values are rarest in the training distribution (the
per-feature tail probabilities that ECOD sums).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from shopmind.errors import ShopmindError
from shopmind.evaluation.review_rates import at_review_rates
from shopmind.models.base import Model, ModelConfig
from shopmind.numbers import plain_number

Mode = Literal["auto", "supervised", "unsupervised", "blend"]
DetectorName = Literal["iforest", "ecod", "copod"]
DETECTORS: tuple[DetectorName, ...] = ("iforest", "ecod", "copod")
DECISIONS = ("allow", "review", "block")


class RiskConfig(ModelConfig):
    """``mode`` auto picks supervised with >= ``min_positives`` bad rows, blend with fewer
    (at least 10), unsupervised without labels. Thresholds default per mode (see
    :func:`default_thresholds`)."""

    mode: Mode = "auto"
    detectors: tuple[DetectorName, ...] = DETECTORS
    validation_fraction: float = Field(0.2, gt=0.0, lt=0.5)
    min_positives: int = Field(200, ge=10)
    max_trees: int = Field(2000, ge=10)
    learning_rate: float = Field(0.03, gt=0.0, le=1.0)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(40, ge=1)
    review_at: float | None = Field(None, ge=0, le=100)
    block_at: float | None = Field(None, ge=0, le=100)


def default_thresholds(mode: str) -> tuple[float, float]:
    """(review_at, block_at). Supervised scores are probabilities x 100; unsupervised ones
    are percentiles of the training rows (review the top 3%, block the top 0.5%)."""
    return (97.0, 99.5) if mode == "unsupervised" else (30.0, 80.0)


# ---------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float = 0.01) -> float:
    """Share of bad rows caught when at most ``fpr`` of good rows are flagged (ties at the
    threshold count against the flagger: a row is flagged only if strictly above it)."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    good = np.sort(score[y == 0])[::-1]
    if good.size == 0 or (y == 1).sum() == 0:
        return float("nan")
    allowed = math.floor(fpr * good.size)
    threshold = good[allowed] if allowed < good.size else -np.inf
    return float((score[y == 1] > threshold).mean())


def risk_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """ROC-AUC, average precision and recall at 1% false-positive rate."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=int)
    if y.min() == y.max():
        return {"roc_auc": float("nan"), "average_precision": float("nan")}
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "average_precision": float(average_precision_score(y, score)),
        "recall_at_1pct_fpr": recall_at_fpr(y, score, 0.01),
        "positives": int(y.sum()),
        "rows": len(y),
    }


# ---------------------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------------------


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _base_rate_shift(fit_y: np.ndarray, val_y: np.ndarray, split: str) -> str | None:
    """A note when the validation rows' bad share is under half or over twice the training
    rows' (Fraud_Data's newest rows: 4.5% against 9.4%): their metrics then describe another
    mix of cases than the file's, and a random split can read quite differently."""
    before, after = float(np.mean(fit_y)), float(np.mean(val_y))
    if before <= 0 or 0.5 <= after / before <= 2:
        return None
    return (
        f"the validation rows ({split}) hold {100 * after:.1f}% bad cases against "
        f"{100 * before:.1f}% in the rows fitted on: the newest cases differ, and the "
        "validation metrics describe them, not the file as a whole"
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


#: detector reasons name values at most this share of training rows is as extreme as
UNUSUAL_SHARE = 0.25
#: the key of missing values in category frequencies
MISSING = "\x00missing"


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _missing_share(mapping: dict[Any, float]) -> float:
    """Training share of missing values (models saved before 0.9.1 keyed it by a NaN)."""
    if MISSING in mapping:
        return mapping[MISSING]
    return next((v for k, v in mapping.items() if isinstance(k, float) and math.isnan(k)), 0.0)


class _NumericView:
    """Numbers for detectors and the logistic baseline: categories become their training
    frequency (rare = unusual), missing values the training median."""

    def fit(self, x: pd.DataFrame) -> _NumericView:
        self.frequencies: dict[str, dict[Any, float]] = {}
        for name in x.columns:
            if isinstance(x[name].dtype, pd.CategoricalDtype):
                share = x[name].value_counts(normalize=True, dropna=False)
                # missing under a plain key: a NaN key is not found again after pickling
                self.frequencies[name] = {
                    MISSING if _is_missing(k) else k: float(v) for k, v in share.items()
                }
        raw = self._raw(x)
        medians = np.nanmedian(np.where(np.isfinite(raw), raw, np.nan), axis=0)
        self.medians = np.where(np.isnan(medians), 0.0, medians)
        return self

    def _raw(self, x: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in x.columns:
            if name in self.frequencies:
                mapping = self.frequencies[name]
                missing = _missing_share(mapping)
                columns.append(
                    x[name]
                    .astype(object)
                    .map(lambda v, m=mapping, na=missing: na if _is_missing(v) else m.get(v, 0.0))
                    .to_numpy(float)
                )
            else:
                columns.append(pd.to_numeric(x[name], errors="coerce").to_numpy(dtype=float))
        return np.column_stack(columns) if columns else np.zeros((len(x), 0))

    def transform(self, x: pd.DataFrame) -> np.ndarray:
        raw = self._raw(x)
        bad = ~np.isfinite(raw)
        raw[bad] = np.take(self.medians, np.nonzero(bad)[1])
        return raw


class _Detectors:
    """PyOD detectors with rank-normalised scores (share of training rows below)."""

    def __init__(self, names: tuple[str, ...], seed: int) -> None:
        self.names = names
        self.seed = seed

    def fit(self, x: np.ndarray) -> _Detectors:
        from pyod.models.copod import COPOD
        from pyod.models.ecod import ECOD
        from pyod.models.iforest import IForest

        made = {
            "iforest": lambda: IForest(n_estimators=200, random_state=self.seed),
            "ecod": lambda: ECOD(),
            "copod": lambda: COPOD(),
        }
        with warnings.catch_warnings():  # skew of near-constant columns loses precision
            warnings.simplefilter("ignore", RuntimeWarning)
            self.models = {n: made[n]().fit(x) for n in self.names}
        for name in ("ecod", "copod"):
            if name in self.models:  # scored by _tail_score; PyOD keeps a copy of X
                self.models[name] = None
        self.sorted_ = np.sort(x, axis=0)
        from scipy.stats import skew

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.skew_ = np.nan_to_num(np.sign(skew(x, axis=0)))
        self.train_scores = {
            n: np.sort(self._tail_score(n, x, training=True) if m is None else m.decision_scores_)
            for n, m in self.models.items()
        }
        ensemble = self._mean_rank({n: self._raw(n, x, training=True) for n in self.models})
        self.train_ensemble = np.sort(ensemble)
        return self

    def _tail_score(self, name: str, x: np.ndarray, training: bool = False) -> np.ndarray:
        """ECOD / COPOD (PyOD's formulas) against the training distribution: per feature
        the left and right tail probabilities, -log, combined and summed. New rows count
        themselves in the tails, as PyOD's own scoring does for one new row."""
        n = self.sorted_.shape[0]
        left = np.empty_like(x, dtype=float)
        right = np.empty_like(x, dtype=float)
        for j in range(x.shape[1]):
            col = self.sorted_[:, j]
            left[:, j] = np.searchsorted(col, x[:, j], side="right")
            right[:, j] = n - np.searchsorted(col, x[:, j], side="left")
        extra, total = (0.0, n) if training else (1.0, n + 1)
        u_l = -np.log((left + extra) / total)
        u_r = -np.log((right + extra) / total)
        if name == "ecod":
            return np.maximum(u_l, u_r).sum(axis=1)
        s = self.skew_
        u_skew = u_l * -np.sign(s - 1) + u_r * np.sign(s + 1)
        return np.maximum(u_skew, (u_l + u_r) / 2).sum(axis=1)

    def _raw(self, name: str, x: np.ndarray, training: bool = False) -> np.ndarray:
        model = self.models[name]
        if model is None:
            return self._tail_score(name, x, training)
        return model.decision_scores_ if training else model.decision_function(x)

    def _mean_rank(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        ranks = [
            np.searchsorted(self.train_scores[n], s, side="right") / len(self.train_scores[n])
            for n, s in scores.items()
        ]
        return np.mean(ranks, axis=0)

    def each(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Rank-normalised score per detector."""
        out = {}
        for name in self.models:
            raw = self._raw(name, x)
            out[name] = np.searchsorted(self.train_scores[name], raw, side="right") / len(
                self.train_scores[name]
            )
        return out

    def score(self, x: np.ndarray) -> np.ndarray:
        """Share of training rows with a lower ensemble score (0..1)."""
        raw = {n: self._raw(n, x) for n in self.models}
        ensemble = self._mean_rank(raw)
        return np.searchsorted(self.train_ensemble, ensemble, side="right") / len(
            self.train_ensemble
        )


def _logistic(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, random_state=seed))


# ---------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------


class RiskModel(Model):
    """Fit on a feature frame (numbers and pandas categories) with optional 0/1 labels."""

    name: ClassVar[str] = "risk"
    config_class: ClassVar[type[ModelConfig]] = RiskConfig
    train_command: ClassVar[str] = "shopmind risk train [--data FILE --label COL]"
    config: RiskConfig

    # -- fit ------------------------------------------------------------------------------
    def fit(
        self,
        x: pd.DataFrame,
        y: np.ndarray | None = None,
        time: np.ndarray | None = None,
        labels: dict[str, str] | None = None,
    ) -> RiskModel:
        """``time`` (seconds) orders rows for the validation split; ``labels`` gives each
        feature its words for reasons."""
        cfg = self.config
        x = x.reset_index(drop=True)
        keep = [c for c in x.columns if x[c].nunique(dropna=True) > 1]
        if not keep:
            raise ShopmindError(
                "Every feature is constant in the training rows; nothing can be learned.",
                hint="Train on more rows or more varied columns.",
            )
        x = x[keep]
        positives = 0 if y is None else int(np.sum(y))
        mode = self._resolved_mode(y)
        if mode != "unsupervised":
            if y is None:
                raise ShopmindError(
                    f"Mode {mode} needs labels.", hint="Pass labels or use --mode unsupervised."
                )
            y = np.asarray(y, dtype=int)
            if y.min() == y.max():
                raise ShopmindError(
                    "The label has one class only; a risk model needs good and bad examples.",
                    hint="Check the --label column (1/true/yes = bad) or use --mode unsupervised.",
                )
        self._feature_words = labels or {}
        report: dict[str, Any] = {"mode": mode, "rows": len(x), "features": len(keep)}
        if y is not None:
            report["positives"] = positives
        view = _NumericView().fit(x)
        if mode == "unsupervised":
            detectors = _Detectors(cfg.detectors, cfg.seed).fit(view.transform(x))
            if y is not None and 0 < positives < len(y):
                train_rank = detectors.score(view.transform(x))
                report["training_rows_unsupervised"] = risk_metrics(y, train_rank)
            self.detectors_: _Detectors | None = detectors
            self.booster_: Any = None
            self.stacker_: Any = None
        else:
            assert y is not None
            fit_idx, val_idx, split = self._split(y, time)
            report["validation"] = {"split": split, "rows": len(val_idx)}
            note = _base_rate_shift(y[fit_idx], y[val_idx], split)
            if note:
                report["validation"]["note"] = note
            self._fit_supervised(x, y, fit_idx, val_idx, mode, view, report)
        self.features_ = keep
        self.view_ = view
        self.mode_ = mode
        review, block = default_thresholds(mode)
        self.thresholds_ = (
            cfg.review_at if cfg.review_at is not None else review,
            cfg.block_at if cfg.block_at is not None else block,
        )
        self.words_ = {k: self._feature_words.get(k, k) for k in keep}
        self._store_tails(view.transform(x))
        self.report_ = report
        return self

    def _resolved_mode(self, y: np.ndarray | None) -> str:
        """The configured mode, or for ``auto`` the one the labels allow: supervised with
        ``min_positives`` bad rows, blend with 10, else unsupervised."""
        cfg = self.config
        if cfg.mode != "auto":
            return cfg.mode
        positives = 0 if y is None else int(np.sum(y))
        if positives == 0:
            return "unsupervised"
        if positives >= cfg.min_positives:
            return "supervised"
        return "blend" if positives >= 10 else "unsupervised"

    def validation_rows(self, y: np.ndarray | None, time: np.ndarray | None) -> np.ndarray | None:
        """Positions of the rows :meth:`fit` validates on (None when it will not: an
        unsupervised fit, or no labels of both classes), so features can keep their labels
        out."""
        if y is None or self._resolved_mode(y) == "unsupervised":
            return None
        y = np.asarray(y, dtype=int)
        if len(y) < 2 or y.min() == y.max() or np.bincount(y).min() < 2:
            return None
        return self._split(y, time)[1]

    def _split(self, y: np.ndarray, time: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
        from sklearn.model_selection import train_test_split

        n = len(y)
        size = max(1, round(self.config.validation_fraction * n))
        if time is not None and np.isfinite(time).mean() > 0.9:
            order = np.argsort(np.where(np.isfinite(time), time, -np.inf), kind="stable")
            fit_idx, val_idx = order[: n - size], order[n - size :]
            if y[val_idx].sum() >= 5 and y[fit_idx].sum() >= 5:
                return fit_idx, val_idx, "time-ordered (newest rows)"
        fit_idx, val_idx = train_test_split(
            np.arange(n), test_size=size, random_state=self.config.seed, stratify=y
        )
        return np.sort(fit_idx), np.sort(val_idx), "stratified random"

    def _lgbm(self, positives: int, trees: int) -> Any:
        import lightgbm as lgb

        cfg = self.config
        return lgb.LGBMClassifier(
            n_estimators=trees,
            learning_rate=cfg.learning_rate,
            num_leaves=cfg.num_leaves,
            min_child_samples=max(5, min(cfg.min_child_samples, positives // 4)),
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            random_state=cfg.seed,
            n_jobs=1,
            verbose=-1,
        )

    def _fit_supervised(
        self,
        x: pd.DataFrame,
        y: np.ndarray,
        fit_idx: np.ndarray,
        val_idx: np.ndarray,
        mode: str,
        view: _NumericView,
        report: dict[str, Any],
    ) -> None:
        import lightgbm as lgb
        from sklearn.linear_model import LogisticRegression

        cfg = self.config
        xf, xv, yf, yv = x.iloc[fit_idx], x.iloc[val_idx], y[fit_idx], y[val_idx]
        positives = int(y.sum())
        first = self._lgbm(positives, cfg.max_trees).fit(
            _safe(xf),
            yf,
            eval_X=(_safe(xv),),
            eval_y=(yv,),
            eval_metric="average_precision",
            callbacks=[lgb.early_stopping(100, first_metric_only=False, verbose=False)],
        )
        trees = max(20, int(first.best_iteration_ or cfg.max_trees))
        p_val = first.predict_proba(_safe(xv), num_iteration=trees)[:, 1]
        baseline = _logistic(cfg.seed).fit(view.transform(xf), yf)
        report["validation"]["lightgbm"] = risk_metrics(yv, p_val)
        report["validation"]["logistic_regression"] = risk_metrics(
            yv, baseline.predict_proba(view.transform(xv))[:, 1]
        )
        report["trees"] = trees
        fit_view = _NumericView().fit(xf)
        detectors = _Detectors(cfg.detectors, cfg.seed).fit(fit_view.transform(xf))
        each = detectors.each(fit_view.transform(xv))
        for name, rank in each.items():
            report["validation"][name] = risk_metrics(yv, rank)
        unsup_val = detectors.score(fit_view.transform(xv))
        report["validation"]["detector_ensemble"] = risk_metrics(yv, unsup_val)
        if mode == "blend":
            stack_x = np.column_stack([_logit(p_val), _logit(unsup_val)])
            stacker = LogisticRegression(max_iter=1000).fit(stack_x, yv)
            calibrated_val = stacker.predict_proba(stack_x)[:, 1]
            self.stacker_ = stacker
            self.detectors_ = _Detectors(cfg.detectors, cfg.seed).fit(view.transform(x))
        else:
            platt = LogisticRegression(max_iter=1000).fit(_logit(p_val)[:, None], yv)
            calibrated_val = platt.predict_proba(_logit(p_val)[:, None])[:, 1]
            self.stacker_ = platt
            self.detectors_ = None
        report["validation"]["calibrated"] = risk_metrics(yv, calibrated_val)
        report["validation"]["positives"] = int(yv.sum())
        # held-out precision / recall when the top share is reviewed (the report shows these)
        report["validation"]["review_rates"] = at_review_rates(100.0 * calibrated_val, yv)
        report["validation"]["calibration"] = {
            "mean_predicted": float(calibrated_val.mean()),
            "observed_rate": float(yv.mean()),
        }
        self.booster_ = self._lgbm(positives, trees).fit(_safe(x), y)

    # -- tails for detector reasons ---------------------------------------------------------
    def _store_tails(self, numeric: np.ndarray) -> None:
        step = max(1, numeric.shape[0] // 20_000)
        self.tails_ = np.sort(numeric[::step], axis=0)

    # -- scoring --------------------------------------------------------------------------
    def _frame(self, x: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features_ if c not in x.columns]
        if missing:
            raise ShopmindError(
                f"Features missing for scoring: {', '.join(missing)}.",
                hint="Score data with the columns the model was trained on.",
            )
        return x[self.features_].reset_index(drop=True)

    def probability(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of bad (supervised, blend) or training percentile
        (unsupervised), in 0..1."""
        self.check_fitted()
        x = self._frame(x)
        if self.mode_ == "unsupervised":
            assert self.detectors_ is not None
            return self.detectors_.score(self.view_.transform(x))
        p = self.booster_.predict_proba(_safe(x))[:, 1]
        if self.mode_ == "blend":
            assert self.detectors_ is not None
            unsup = self.detectors_.score(self.view_.transform(x))
            stack_x = np.column_stack([_logit(p), _logit(unsup)])
            return self.stacker_.predict_proba(stack_x)[:, 1]
        return self.stacker_.predict_proba(_logit(p)[:, None])[:, 1]

    def score(self, x: pd.DataFrame) -> np.ndarray:
        """Risk score 0..100, higher is riskier."""
        return np.clip(100.0 * self.probability(x), 0.0, 100.0)

    # -- the real-time path: numbers only, no pandas ----------------------------------------
    def numeric_only(self) -> bool:
        return not self.view_.frequencies

    def score_rows(self, values: np.ndarray, top: int = 3) -> tuple[np.ndarray, list[list[str]]]:
        """Scores and reason texts for rows of ``features_`` values (all numeric), without
        pandas: the same numbers as :meth:`score` and :meth:`reasons` in a fraction of the
        time (for one order at a time)."""
        self.check_fitted()
        a = np.asarray(values, dtype=float).reshape(-1, len(self.features_))
        numeric = a.copy()
        bad = ~np.isfinite(numeric)
        numeric[bad] = np.take(self.view_.medians, np.nonzero(bad)[1])
        unsup = None
        if self.detectors_ is not None:
            unsup = self.detectors_.score(numeric)
        if self.mode_ == "unsupervised":
            assert unsup is not None
            p = unsup
            texts = [
                [r["text"] for r in self._tail_reasons(a[i], numeric[i], top)]
                for i in range(len(a))
            ]
            return np.clip(100.0 * p, 0, 100), texts
        booster = self.booster_.booster_
        raw = booster.predict(a, num_threads=1)
        if self.mode_ == "blend":
            assert unsup is not None
            z = np.column_stack([_logit(raw), _logit(unsup)]) @ self.stacker_.coef_[0]
        else:
            z = _logit(raw) * self.stacker_.coef_[0, 0]
        p = _sigmoid(z + self.stacker_.intercept_[0])
        contrib = booster.predict(a, pred_contrib=True, num_threads=1)[:, :-1]
        texts = [
            [r["text"] for r in self._tree_reasons(a[i], contrib[i], top)] if top else []
            for i in range(len(a))
        ]
        return np.clip(100.0 * p, 0, 100), texts

    def decide(self, scores: np.ndarray) -> np.ndarray:
        self.check_fitted()
        review, block = self.thresholds_
        return np.where(scores >= block, "block", np.where(scores >= review, "review", "allow"))

    # -- reasons --------------------------------------------------------------------------
    def reasons(self, x: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """Per row, up to ``top`` reasons: feature, value, weight and words."""
        self.check_fitted()
        x = self._frame(x)
        if self.booster_ is not None:
            contrib = self.booster_.predict(_safe(x), pred_contrib=True)[:, :-1]
            rows = x.to_numpy(dtype=object)
            return [self._tree_reasons(rows[i], contrib[i], top) for i in range(len(x))]
        numeric = self.view_.transform(x)
        rows = x.to_numpy(dtype=object)
        below, above = self._tails(numeric)
        return [
            self._tail_reasons(rows[i], numeric[i], top, (below[i], above[i]))
            for i in range(len(x))
        ]

    def _tree_reasons(self, row: np.ndarray, values: np.ndarray, top: int) -> list[dict[str, Any]]:
        order = np.argsort(-values)
        chosen = [i for i in order[:top] if values[i] > 0] or list(order[:1])
        return [
            {
                "feature": self.features_[i],
                "value": _plain(row[i]),
                "weight": float(values[i]),
                "text": f"{self.words_[self.features_[i]]} = "
                f"{_shown(self.features_[i], row[i])} "
                f"({'raises' if values[i] > 0 else 'lowers'} risk)",
            }
            for i in chosen
        ]

    def _tails(self, numeric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per value, training rows at or below it and at or above it."""
        numeric = np.atleast_2d(numeric)
        n = self.tails_.shape[0]
        below = np.empty(numeric.shape)
        above = np.empty(numeric.shape)
        for j in range(numeric.shape[1]):
            below[:, j] = np.searchsorted(self.tails_[:, j], numeric[:, j], side="right")
            above[:, j] = n - np.searchsorted(self.tails_[:, j], numeric[:, j], side="left")
        return below, above

    def _tail_reasons(
        self, row: np.ndarray, numeric: np.ndarray, top: int, tails: Any = None
    ) -> list[dict[str, Any]]:
        n = self.tails_.shape[0]
        below, above = tails if tails is not None else (t[0] for t in self._tails(numeric))
        tail = np.minimum(below, above) / n
        ranked = np.argsort(tail, kind="stable")[:top]
        # a value a quarter of the training rows share is not unusual: not a reason, unless
        # it is the row's most unusual one
        order = [j for i, j in enumerate(ranked) if i == 0 or tail[j] < UNUSUAL_SHARE]
        out = []
        for j in order:
            name = self.features_[j]
            high = above[j] <= below[j]
            share = 100.0 * tail[j]
            out.append(
                {
                    "feature": name,
                    "value": _plain(row[j]),
                    "weight": float(-math.log(max(tail[j], 1.0 / n))),
                    "text": f"{self.words_[name]} = {_shown(name, row[j])} is unusually "
                    f"{'high' if high else 'low'} ({share:.1f}% of training rows are as "
                    f"{'high' if high else 'low'})"
                    if name not in self.view_.frequencies
                    else f"{self.words_[name]} = {_shown(name, row[j])} is rare "
                    f"({share:.1f}% of training rows)",
                }
            )
        return out


def _safe(x: pd.DataFrame) -> pd.DataFrame:
    """Positional column names (LightGBM refuses some characters in feature names)."""
    return x.set_axis([f"f{i}" for i in range(x.shape[1])], axis=1)


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | str | bool) else str(value)


def _shown(feature: str, value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "missing"
    if isinstance(value, str):
        return value
    if "seconds" in feature and isinstance(value, int | float):
        seconds = float(value)
        for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
            if abs(seconds) >= size:
                return f"{seconds / size:.3g} {unit}"
        return f"{seconds:.3g} s"
    return plain_number(value) if isinstance(value, int | float) else str(value)
