"""Propensity: will a user buy in the next ``horizon`` (``purchase``), or will a buyer not buy
again (``churn``)? Chosen on validation among LightGBM, logistic regression, their ensemble and
single features (``propensity_candidates``), with a recency-only baseline reported.

Workspace mode is temporal: the test snapshot has features at ``cutoff`` and labels from
``[cutoff, cutoff + horizon)``; the validation snapshot sits one horizon earlier (the choice
and the honest baselines are made there); training snapshots are rolling cutoffs one day
apart before it. After the choice, the chosen kind is fitted again on every labelled snapshot
before the test cutoff (training, validation and the days in between), so the final model
has seen the most recent behaviour, and is calibrated on out-of-fold scores of those
snapshots (``out_of_fold_scores``). Nothing after a snapshot's cutoff enters
its features (``features.intent.propensity_features``). Tabular mode (``fit_frame``) uses a
stratified 70/15/15 split of a labelled file and no refit.
Explanations are TreeSHAP contributions (Lundberg et al. 2020) in log-odds, turned into words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from shopmind.errors import ShopmindError
from shopmind.features.frames import stable_floats
from shopmind.features.intent import PROPENSITY_LABELS, PROPENSITY_NEVER_FEATURES
from shopmind.features.point_in_time import NEVER_DAYS
from shopmind.models.base import Model, ModelConfig
from shopmind.models.propensity_candidates import Candidate, choose
from shopmind.numbers import plain_number


class PropensityConfig(ModelConfig):
    """target: purchase (buys within the horizon) or churn (a buyer does not buy again);
    horizon in seconds; cutoff: ISO-8601 with offset (workspace mode); training snapshots
    step back one day (or one horizon) each."""

    target: Literal["purchase", "churn"] = "purchase"
    horizon_seconds: int = Field(7 * 86_400, gt=0)
    cutoff: str | None = None
    train_snapshots: int = Field(8, ge=1)


def resolve_cutoff(given: str | None, last: datetime, horizon: timedelta) -> tuple[datetime, str]:
    """The test cutoff and a note saying how it was read: by default one horizon before the
    last event (so the test labels are observable); a time without offset is read as UTC,
    the workspace's time zone."""
    if not given:
        cutoff = last - horizon
        return cutoff, f"default: one horizon before the last event ({last.isoformat()})"
    try:
        cutoff = datetime.fromisoformat(given)
    except ValueError:
        raise ShopmindError(
            f"--cutoff {given!r} is not an ISO-8601 date or time.",
            hint="Write e.g. 2011-11-01 or 2017-12-02T00:00:00+08:00.",
        ) from None
    if cutoff.tzinfo is None:
        return cutoff.replace(tzinfo=UTC), f"{given} has no offset: read as UTC"
    return cutoff, "as given"


def _one_hot(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as they are, text one-hot (one encoding for training and scoring files)."""
    return pd.get_dummies(frame, dtype=float).fillna(0.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    if y.min() == y.max():
        return {"roc_auc": float("nan"), "pr_auc": float("nan")}
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, clipped)),
        "brier": float(brier_score_loss(y, clipped)),
    }


def _reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    return [
        {
            "predicted": float(p[index == b].mean()),
            "observed": float(y[index == b].mean()),
            "count": int((index == b).sum()),
        }
        for b in range(bins)
        if (index == b).any()
    ]


#: Below this many validation rows the calibration is a logistic curve, not isotonic steps.
ISOTONIC_MIN_ROWS = 1_000


class PlattCalibrator:
    """A logistic curve on the score (Platt 1999): two parameters, for small validation sets."""

    def fit(self, scores: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=1e4).fit(np.asarray(scores)[:, None], y)
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(np.asarray(scores)[:, None])[:, 1])


#: Calibrated probabilities stay inside [PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]: an
#: isotonic step of 0 or 1 is a sample's accident, never a certain buyer or non-buyer.
PROBABILITY_FLOOR = 0.001


class IsotonicCalibrator:
    """Isotonic regression on the score (Zadrozny & Elkan 2002) that keeps the model's
    ranking: inside one isotonic step, a higher score stays higher by at most 1e-6 (the
    steps' ties cost ROC-AUC and ranked a campaign's audience by chance), and no
    probability is exactly 0 or 1."""

    def fit(self, scores: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, y)
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        s = np.asarray(scores, dtype=float)
        # the order term moves a value by under 5e-7: inside the bounds after it, too
        low, high = PROBABILITY_FLOOR + 1e-6, 1 - PROBABILITY_FLOOR - 1e-6
        stepped = np.clip(self.model_.predict(s), low, high)
        return np.asarray(stepped + 1e-6 * (_sigmoid(s) - 0.5))


def calibrator(scores: np.ndarray, y: np.ndarray) -> Any:
    """Score -> probability: isotonic regression with at least ``ISOTONIC_MIN_ROWS`` rows, a
    Platt curve below, where isotonic steps overfit (Niculescu-Mizil & Caruana 2005)."""
    if len(y) < ISOTONIC_MIN_ROWS:
        return PlattCalibrator().fit(scores, y)
    return IsotonicCalibrator().fit(scores, y)


def _refitted(kind: Candidate, x: np.ndarray, y: np.ndarray, seed: int) -> Candidate:
    """A model of ``kind``'s kind fitted on ``x, y`` (an ensemble refits its two parts)."""
    if kind.kind in ("lightgbm", "logistic"):
        return Candidate(kind.kind).fit(x, y, seed)
    if kind.kind == "ensemble":
        parts = [Candidate("lightgbm").fit(x, y, seed), Candidate("logistic").fit(x, y, seed)]
        return Candidate("ensemble").combine(parts, x)
    return kind.fresh().fit(x, y, seed)


def out_of_fold_scores(
    kind: Candidate, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, seed: int
) -> np.ndarray | None:
    """Scores of each row by a model of ``kind``'s kind fitted without the row's fold (three
    folds, stratified, one user's snapshots in one fold): what a calibrator of the model
    refitted on all rows must learn from, as in scikit-learn's ``CalibratedClassifierCV``.
    None when three folds cannot each hold both classes (a rare target)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if np.bincount(y, minlength=2).min() < 3:
        return None
    out = np.zeros(len(y))
    if groups is not None and len(np.unique(groups)) >= 3:
        folds = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
        splits = folds.split(x, y, groups)
    else:
        splits = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed).split(x, y)
    for fit_rows, held_out in splits:
        if np.unique(y[fit_rows]).size < 2:  # a fold of one class teaches nothing
            return None
        out[held_out] = _refitted(kind, x[fit_rows], y[fit_rows], seed).score(x[held_out])
    return out


class PropensityModel(Model):
    """Purchase / churn propensity (see the module docstring)."""

    name = "propensity"
    config_class = PropensityConfig
    train_command = "shopmind propensity train --target purchase --horizon 7d"
    config: PropensityConfig
    cutoff_: datetime | None
    label_: str | None = None  # file mode: the label column (absent from files to score)
    input_columns_: list[str] | None = None  # file mode: the columns a file to score needs

    # -- workspace (temporal) mode --------------------------------------------------------
    def snapshot(self, tables: Any, cutoff: datetime, labelled: bool = True) -> pd.DataFrame:
        from shopmind.features.intent import propensity_features
        from shopmind.features.point_in_time import purchasers_between

        half_life = self.config.horizon_seconds / 86_400
        features = propensity_features(tables, cutoff, half_life).execute()
        features = features.merge(_rfm_scores(tables, cutoff), on="user_id", how="left")
        features[["rfm_r", "rfm_f", "rfm_m"]] = features[["rfm_r", "rfm_f", "rfm_m"]].fillna(0)
        # the engine returns groups in any order; bagging in LightGBM depends on row order
        features = stable_floats(features.sort_values("user_id", kind="stable", ignore_index=True))
        if not labelled:
            return features
        horizon = timedelta(seconds=self.config.horizon_seconds)
        buyers = set(purchasers_between(tables, cutoff, cutoff + horizon).execute()["user_id"])
        bought = features["user_id"].isin(buyers).astype(int)
        if self.config.target == "churn":
            features = features[features["orders"] > 0].copy()
            features["label"] = 1 - bought[features.index]
        else:
            features["label"] = bought
        return features

    def snapshot_times(
        self, first: datetime, cutoff: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        """Cutoffs of the training snapshots and of the recent ones that join only the refit
        (the validation snapshot is ``cutoff - horizon``; ``first`` is the first event).

        Rolling snapshots one stride apart (a day, or the horizon if shorter), each with at
        least half a stride of history. Training ones end their label windows before the
        validation snapshot starts; the recent ones overlap the validation labels, so they
        join only the final refit, after the choice."""
        horizon = timedelta(seconds=self.config.horizon_seconds)
        stride = min(horizon, timedelta(days=1))
        count = self.config.train_snapshots
        train_at = [cutoff - 2 * horizon - k * stride for k in range(count)]
        train_at = [at for at in train_at if at - first >= stride / 2] or train_at[:1]
        recent_at = [cutoff - horizon - k * stride for k in range(1, count) if k * stride < horizon]
        return train_at, [at for at in recent_at if at - first >= stride / 2]

    def fit(self, tables: Any) -> PropensityModel:
        if self.config.target not in ("purchase", "churn"):
            raise ShopmindError(
                f"Unknown target '{self.config.target}'.",
                hint="Use --target purchase or --target churn.",
            )
        first, last = event_span(tables.events())
        cutoff, self.cutoff_note_ = resolve_cutoff(
            self.config.cutoff, last, timedelta(seconds=self.config.horizon_seconds)
        )
        horizon = timedelta(seconds=self.config.horizon_seconds)
        if last < cutoff:
            raise ShopmindError(
                f"No data after the cutoff {cutoff.isoformat()} (the last event is "
                f"{last.isoformat()}): the test period would be empty.",
                hint="Choose an earlier --cutoff so that labels can be observed.",
            )
        if cutoff - 2 * horizon <= first:
            raise ShopmindError(
                "Not enough history before the cutoff for training and validation snapshots.",
                hint="Choose a later --cutoff or a shorter --horizon.",
            )
        test = self.snapshot(tables, cutoff)
        val = self.snapshot(tables, cutoff - horizon)
        train_at, recent_at = self.snapshot_times(first, cutoff)
        train = pd.concat([self.snapshot(tables, at) for at in train_at], ignore_index=True)
        recent = [self.snapshot(tables, at) for at in recent_at]
        refit = pd.concat([*recent, val, train], ignore_index=True)
        active = {
            "validation": _active_share(tables, val["user_id"], cutoff - horizon, cutoff),
            "test": _active_share(tables, test["user_id"], cutoff, cutoff + horizon),
        }
        self._fit_arrays(train, val, test, refit=refit, active_in_label_window=active)
        self.cutoff_ = cutoff
        self.report_["cutoff"] = cutoff.isoformat()
        self.report_["cutoff_note"] = self.cutoff_note_
        return self

    # -- tabular mode ---------------------------------------------------------------------
    def fit_frame(self, frame: pd.DataFrame, label: str) -> PropensityModel:
        from sklearn.model_selection import train_test_split

        if label not in frame.columns:
            raise ShopmindError(
                f"Label column '{label}' not in the data (found: {', '.join(frame.columns)})."
            )
        from shopmind.features.leakage import label_leaks
        from shopmind.features.outcomes import binary_outcome

        y = binary_outcome(frame[label], label, "--label")
        if y.min() == y.max():
            raise ShopmindError(
                f"Every '{label}' value is {'yes' if y[0] else 'no'}: there is nothing to predict."
            )
        features = frame.drop(columns=[label])
        train_rows, rest = train_test_split(
            np.arange(len(frame)), test_size=0.3, random_state=self.config.seed, stratify=y
        )
        val_rows, test_rows = train_test_split(
            rest, test_size=0.5, random_state=self.config.seed, stratify=y[rest]
        )
        # identifiers and columns that give the label away are no features (judged on the
        # training rows only)
        excluded = label_leaks(features.iloc[train_rows], y[train_rows])
        features = features.drop(columns=list(excluded))
        self.input_columns_ = [str(c) for c in features.columns]
        x = _one_hot(features)
        data = x.assign(label=y)
        train, val, test = (data.iloc[rows] for rows in (train_rows, val_rows, test_rows))
        self._fit_arrays(train, val, test, id_column=None)
        self.report_["excluded_columns"] = excluded
        self.label_ = label
        if excluded:
            self.report_.setdefault("shift", {}).setdefault("warnings", []).insert(
                0,
                "left out as features: " + "; ".join(f"{c} ({why})" for c, why in excluded.items()),
            )
        self.cutoff_ = None  # no time axis in a tabular file
        return self

    def _fit_arrays(
        self,
        train: pd.DataFrame,
        val: pd.DataFrame,
        test: pd.DataFrame,
        id_column: str | None = "user_id",
        refit: pd.DataFrame | None = None,
        active_in_label_window: dict[str, float] | None = None,
    ) -> None:
        """Choose on ``val`` among candidates fitted on ``train`` and calibrate there; with
        ``refit`` (every labelled snapshot before the test cutoff), the chosen kind and the
        two reported models are then fitted again on those rows, and the chosen one is
        calibrated again on their out-of-fold scores (the validation calibration stays when
        no three folds hold both classes).
        ``active_in_label_window`` (shares of users active in each label window, temporal
        mode) joins the shift check."""
        drop = ["label"] + ([id_column] if id_column else [])
        self.feature_names_ = [c for c in train.columns if c not in drop]
        xs = [part[self.feature_names_].to_numpy(dtype=float) for part in (train, val, test)]
        ys = [part["label"].to_numpy(dtype=int) for part in (train, val, test)]
        for part, y in zip(("training", "validation", "test"), ys, strict=True):
            if len(y) == 0:
                raise ShopmindError(
                    f"No {part} rows: no user has events before that snapshot.",
                    hint="Choose a later --cutoff or a shorter --horizon.",
                )
            if y.min() == y.max():
                outcome = "positive" if y[0] else "negative"
                raise ShopmindError(
                    f"Every {part} label is {outcome} ({len(y):,} rows): nothing can be "
                    f"{'learned' if part == 'training' else 'measured'} there.",
                    hint="Choose another --cutoff (the label window must hold both buyers "
                    "and non-buyers) or a longer --horizon.",
                )
        self.model_, validation, single = choose(
            self.feature_names_, (xs[0], ys[0]), (xs[1], ys[1]), self.config.seed
        )
        self.calibrator_ = calibrator(self.model_.score(xs[1]), ys[1])
        calibrated_on = "the validation snapshot"
        fit_x, fit_y = xs[0], ys[0]
        if refit is not None:
            fit_x = refit[self.feature_names_].to_numpy(dtype=float)
            fit_y = refit["label"].to_numpy(dtype=int)
        lgbm = Candidate("lightgbm").fit(fit_x, fit_y, self.config.seed)
        logistic = Candidate("logistic").fit(fit_x, fit_y, self.config.seed)
        if refit is not None:
            kind = self.model_.kind
            if kind in ("lightgbm", "logistic"):
                self.model_ = lgbm if kind == "lightgbm" else logistic
            elif kind == "ensemble":
                self.model_ = Candidate("ensemble").combine([lgbm, logistic], fit_x)
            else:
                self.model_ = self.model_.fresh().fit(fit_x, fit_y, self.config.seed)
            # the validation model's calibration does not fit the refitted model's scores
            # (another scale): calibrate on out-of-fold scores of the refit rows instead
            known = id_column is not None and id_column in refit.columns
            groups = refit[id_column].to_numpy() if known else None
            oof = out_of_fold_scores(self.model_, fit_x, fit_y, groups, self.config.seed)
            if oof is not None:  # else the validation calibration stays (said in the report)
                self.calibrator_ = calibrator(oof, fit_y)
            calibrated_on = (
                "out-of-fold scores of the refit rows"
                if oof is not None
                else ("the validation snapshot (too few positives for three folds)")
            )
        calibrated = self.calibrator_.predict(self.model_.score(xs[2]))
        report: dict[str, Any] = {
            "rows": {
                "train": len(ys[0]),
                "validation": len(ys[1]),
                "test": len(ys[2]),
                "final_fit": len(fit_y),
            },
            "positive_rate_test": float(ys[2].mean()),
            "chosen": self.model_.kind,
            "validation_roc_auc": {k: round(v, 4) for k, v in validation.items()},
            "best_single_feature": single,
            "chosen_model": {**_metrics(ys[2], calibrated), "name": self.model_.kind},
            "lightgbm": _metrics(ys[2], lgbm.score(xs[2])),
            "logistic_regression": _metrics(ys[2], _sigmoid(logistic.score(xs[2]))),
            "reliability": _reliability(ys[2], calibrated),
            "calibrated_on": calibrated_on,
        }
        report["shift"] = feature_shift(
            self.feature_names_,
            (xs[1], ys[1]),
            (xs[2], ys[2]),
            validation.get(self.model_.kind if self.model_.kind != "feature" else "single_feature"),
            report["chosen_model"]["roc_auc"],
        )
        if active_in_label_window is not None:
            report["shift"]["active_in_label_window"] = active_in_label_window
        report["shift"]["warnings"] = shift_warnings(report["shift"])
        if "recency_days" in self.feature_names_:
            recency = xs[2][:, self.feature_names_.index("recency_days")]
            # recent users buy, long-gone buyers churn: the ranking's sign follows the target
            sign = 1.0 if self.config.target == "churn" else -1.0
            ranking = _metrics(ys[2], sign * recency)  # a ranking, not a probability: AUCs only
            report["recency_only"] = {k: ranking[k] for k in ("roc_auc", "pr_auc")}
        self.report_ = report

    def file_features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Features of a file laid out like the one :meth:`fit_frame` learnt from (its label
        may be absent), encoded as in training; an error when a column it learnt from is
        missing (it would be read as zeros)."""
        missing = [c for c in self.input_columns_ or [] if c not in frame.columns]
        if missing:
            raise ShopmindError(
                f"The file lacks column(s) the model learnt from: {', '.join(missing)}.",
                hint="Score a file with the training file's columns (the label may be absent).",
            )
        excluded = self.report_.get("excluded_columns", {})
        drop = [c for c in frame.columns if c == self.label_ or c in excluded]
        features = _one_hot(frame.drop(columns=drop))
        if not any(c in features.columns for c in self.feature_names_):
            raise ShopmindError(
                "None of the model's feature columns is in this file.",
                hint="Score a file with the training file's columns.",
            )
        return features

    # -- scoring and explanations ---------------------------------------------------------
    def predict(self, features: pd.DataFrame) -> np.ndarray:
        self.check_fitted()
        x = features.reindex(columns=self.feature_names_, fill_value=0.0).to_numpy(dtype=float)
        return np.asarray(self.calibrator_.predict(self.model_.score(x)))

    def reasons(self, features: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """Per row, the ``top`` features pushing the score most (TreeSHAP, log-odds)."""
        self.check_fitted()
        x = features.reindex(columns=self.feature_names_, fill_value=0.0).to_numpy(dtype=float)
        contributions = self.model_.contributions(x)
        out = []
        for row, values in zip(x, contributions, strict=True):
            order = np.argsort(-np.abs(values))[:top]
            out.append(
                [
                    {
                        "feature": self.feature_names_[i],
                        "value": float(row[i]),
                        "contribution": float(values[i]),
                        "text": _phrase(self.feature_names_[i], row[i], values[i]),
                    }
                    for i in order
                ]
            )
        return out


#: A test ROC-AUC this far below the validation one is reported as a shift, with its likely causes.
SHIFT_AUC_DROP = 0.05


def feature_shift(
    names: list[str],
    validation: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    validation_auc: float | None,
    test_auc: float,
    top: int = 5,
) -> dict[str, Any]:
    """How the test period differs from the validation one: the chosen model's ROC-AUC on each
    and the features whose own ranking power (|AUC - 0.5|, either direction) fell most, so a
    drop can be traced to behaviour that stopped predicting (a covariate or population shift,
    Quinonero-Candela et al. 2009) instead of being taken for a bad model."""
    from shopmind.models.propensity_candidates import auc

    (xv, yv), (xt, yt) = validation, test
    lost = []
    for j, name in enumerate(names):
        before, after = auc(yv, xv[:, j]), auc(yt, xt[:, j])
        if np.isnan(before) or np.isnan(after):
            continue
        loss = abs(before - 0.5) - abs(after - 0.5)
        lost.append((loss, name, before, after))
    lost.sort(key=lambda t: (-t[0], t[1]))
    return {
        "validation_roc_auc": validation_auc,
        "test_roc_auc": test_auc,
        "features_that_lost_signal": [
            {"feature": name, "validation_auc": round(b, 4), "test_auc": round(a, 4)}
            for loss, name, b, a in lost[:top]
            if loss > 0.02
        ],
    }


def shift_warnings(shift: dict[str, Any]) -> list[str]:
    """Plain-language warnings for a test period unlike the validation one (empty if alike)."""
    before, after = shift.get("validation_roc_auc"), shift.get("test_roc_auc")
    if before is None or after is None or np.isnan(before) or np.isnan(after):
        return []
    if before - after < SHIFT_AUC_DROP:
        return []
    out = [
        f"the test ROC-AUC ({after:.3f}) is {before - after:.3f} below the validation one "
        f"({before:.3f}): the test period behaves differently"
    ]
    lost = shift.get("features_that_lost_signal") or []
    if lost:
        named = ", ".join(
            f"{f['feature']} {f['validation_auc']:.2f} -> {f['test_auc']:.2f}" for f in lost[:3]
        )
        out.append(f"features that predicted on validation but not on test (AUC): {named}")
    active = shift.get("active_in_label_window")
    if active and abs(active["test"] - active["validation"]) >= 0.05:
        out.append(
            f"users active during the label window: {active['validation']:.0%} on validation, "
            f"{active['test']:.0%} on test; a population chosen by later activity (a sample of "
            "users active at the end of the data) makes activity features uninformative"
        )
    return out


def event_span(events: Any) -> tuple[datetime, datetime]:
    """The first and last event times, in one scan with the checks that the events can
    give a propensity (clear errors for no events, no user ids: session-only data, or no
    purchase at all)."""
    counts = events.aggregate(
        rows=events.count(),
        people=events.user_id.count(),
        purchases=(events.event_type == "purchase").cast("int64").sum(),
        first=events.ts.min(),
        last=events.ts.max(),
    ).execute()
    if int(counts["rows"].iloc[0]) == 0:
        raise ShopmindError(
            "No events are loaded: propensity learns from behaviour before each snapshot.",
            hint="Ingest an events file first (shopmind ingest FILE).",
        )
    if int(counts["people"].iloc[0]) == 0:
        raise ShopmindError(
            "The events carry no user ids (session-only data): propensity scores people.",
            hint="Load events with a user id column (e.g. --map user_id=COLUMN).",
        )
    if int(counts["purchases"].fillna(0).iloc[0]) == 0:
        raise ShopmindError(
            "There is no purchase event: nothing to learn a purchase or churn label from.",
            hint="Load purchases (event_type purchase, or an orders file with --table orders).",
        )
    first, last = (pd.Timestamp(counts[c].iloc[0]).to_pydatetime() for c in ("first", "last"))
    return first, last


def _active_share(tables: Any, users: pd.Series, start: datetime, end: datetime) -> float:
    """Share of ``users`` with any event in ``[start, end)`` (a label window)."""
    events = tables["events"]
    seen = events.filter(events.user_id.notnull() & (events.ts >= start) & (events.ts < end))
    active = set(seen.select("user_id").distinct().execute()["user_id"])
    return float(users.isin(active).mean()) if len(users) else float("nan")


def _rfm_scores(tables: Any, cutoff: datetime) -> pd.DataFrame:
    """RFM scores from purchases before the cutoff only (0 for users without purchases)."""
    from shopmind.analytics.rfm import rfm_table

    events = tables["events"]
    before = tables.with_tables({**tables.tables, "events": events.filter(events.ts < cutoff)})
    try:
        scores = rfm_table(before, as_of=cutoff).execute()
    except ShopmindError:  # no purchases before the cutoff
        return pd.DataFrame(columns=["user_id", "rfm_r", "rfm_f", "rfm_m"])
    return scores[["user_id", "r", "f", "m"]].rename(
        columns={"r": "rfm_r", "f": "rfm_f", "m": "rfm_m"}
    )


def _phrase(feature: str, value: float, contribution: float) -> str:
    label = PROPENSITY_LABELS.get(feature, feature.replace("_", " "))
    never = feature in PROPENSITY_NEVER_FEATURES and value >= NEVER_DAYS
    shown = "never" if never else f"{value:,.0f}" if abs(value) >= 100 else plain_number(value, 3)
    return f"{label} = {shown}: {contribution:+.2f}"
