"""Reply ranking (a response selector): given a conversation context and candidate replies,
which reply fits? Used to rank stored agent replies, measured on the Taobao dialogue corpus.

Features per (context, reply) pair: cosine similarities of the reply with the last customer
turn and with the whole context (character TF-IDF, word TF-IDF over the given tokens, and
e5 sentence embeddings when ``embeddings`` is on), word overlap (Jaccard and the share of the
reply's words seen in the context), the reply's length and its ratio to the last turn's, and
whether the reply repeats a context turn verbatim. A logistic regression on standardised
features learns their weights from labelled pairs (``fit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

FEATURES = (
    "char_last",
    "char_context",
    "word_last",
    "word_context",
    "emb_last",
    "emb_context",
    "jaccard_last",
    "jaccard_context",
    "reply_words_in_context",
    "log_reply_len",
    "len_ratio_last",
    "repeats_context",
)


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w.strip()]


class ReplyRanker:
    """Context is a list of turns (oldest first); texts may be pre-tokenised with spaces."""

    def __init__(self, embeddings: bool = True, C: float = 1.0, seed: int = 0) -> None:
        self.embeddings = embeddings
        self.C = C
        self.seed = seed

    def _fit_vectorizers(self, texts: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        joined = [t.replace(" ", "") for t in texts]
        self.char_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
        self.char_.fit(joined)
        self.word_ = TfidfVectorizer(tokenizer=_words, token_pattern=None, lowercase=False)
        self.word_.fit(texts)

    def features(self, contexts: Sequence[Sequence[str]], replies: Sequence[str]) -> np.ndarray:
        last = [c[-1] if c else "" for c in contexts]
        whole = [" ".join(c) for c in contexts]

        def cos(vec: Any, a: list[str], b: list[str], squash: bool) -> np.ndarray:
            if squash:
                a = [t.replace(" ", "") for t in a]
                b = [t.replace(" ", "") for t in b]
            A, B = vec.transform(a), vec.transform(b)
            return np.asarray(A.multiply(B).sum(axis=1)).ravel()

        replies = list(replies)
        cols = [
            cos(self.char_, last, replies, True),
            cos(self.char_, whole, replies, True),
            cos(self.word_, last, replies, False),
            cos(self.word_, whole, replies, False),
        ]
        if self.embeddings:
            from shopmind.models import intent

            r = intent.ENCODE([t.replace(" ", "") for t in replies], "e5")
            lv = intent.ENCODE([t.replace(" ", "") for t in last], "e5")
            wv = intent.ENCODE([t.replace(" ", "")[-500:] for t in whole], "e5")
            cols += [np.sum(r * lv, axis=1), np.sum(r * wv, axis=1)]
        else:
            cols += [np.zeros(len(replies)), np.zeros(len(replies))]
        jl, jc, seen, length, ratio, repeat = [], [], [], [], [], []
        for ctx, lt, reply in zip(contexts, last, replies, strict=True):
            rw, lw = set(_words(reply)), set(_words(lt))
            cw = {w for turn in ctx for w in _words(turn)}
            jl.append(len(rw & lw) / max(len(rw | lw), 1))
            jc.append(len(rw & cw) / max(len(rw | cw), 1))
            seen.append(len(rw & cw) / max(len(rw), 1))
            length.append(np.log1p(len(reply.replace(" ", ""))))
            ratio.append(np.log1p(len(reply)) - np.log1p(len(lt)))
            repeat.append(float(any(reply.strip() == turn.strip() for turn in ctx)))
        cols += [np.array(v, dtype=float) for v in (jl, jc, seen, length, ratio, repeat)]
        return np.column_stack(cols)

    def fit(
        self, contexts: Sequence[Sequence[str]], replies: Sequence[str], labels: Sequence[int]
    ) -> ReplyRanker:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self._fit_vectorizers([t for c in contexts for t in c] + list(replies))
        X = self.features(contexts, replies)
        self.model_ = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        ).fit(X, np.asarray(labels))
        return self

    def score(self, contexts: Sequence[Sequence[str]], replies: Sequence[str]) -> np.ndarray:
        return self.model_.decision_function(self.features(contexts, replies))

    def weights(self) -> dict[str, float]:
        coef = self.model_[-1].coef_[0]
        return {name: round(float(w), 4) for name, w in zip(FEATURES, coef, strict=True)}


def recall_at_1(scores: np.ndarray, labels: np.ndarray, group: int = 10) -> float:
    """R_group@1 with ties shared: a group whose true reply ties with t others for the top
    score counts 1/(t+1) (candidates in a fixed order cannot favour the first one)."""
    scores = np.asarray(scores, dtype=float).reshape(-1, group)
    labels = np.asarray(labels).reshape(-1, group)
    total = 0.0
    for s, y in zip(scores, labels, strict=True):
        top = np.isclose(s, s.max())
        total += float(top[y == 1].any()) / top.sum()
    return total / len(scores)
