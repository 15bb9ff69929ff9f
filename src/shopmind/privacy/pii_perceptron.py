"""Averaged structured perceptron with first-order Viterbi decoding over BIO tags.

Collins (2002), "Discriminative training methods for hidden Markov models": the same model
family as a linear-chain CRF (emission weights per feature and tag, a tag-transition matrix),
trained by perceptron updates on the Viterbi path and averaged over all steps (the lazy
"w - u / c" form). Invalid BIO moves (``O -> I-X``, ``B-X -> I-Y``) are forbidden in decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NEG = -1e9


def bio_tags(kinds: Sequence[str]) -> list[str]:
    """``O`` then ``B-X``, ``I-X`` for each entity type."""
    return ["O"] + [f"{p}-{k}" for k in kinds for p in ("B", "I")]


def allowed_transitions(tags: Sequence[str]) -> np.ndarray:
    """(T + 1, T) mask: row T is the start state; ``I-X`` only after ``B-X`` or ``I-X``."""
    n = len(tags)
    mask = np.ones((n + 1, n), dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            kind = tag[2:]
            for i in range(n + 1):
                mask[i, j] = i < n and tags[i] in (f"B-{kind}", f"I-{kind}")
    return mask


def viterbi(emissions: np.ndarray, trans: np.ndarray) -> list[int]:
    """Best tag sequence for ``emissions`` (n, T) under ``trans`` (T + 1, T), row T = start."""
    n, t = emissions.shape
    score = trans[t] + emissions[0]
    back = np.zeros((n, t), dtype=np.int32)
    body = trans[:t]
    for i in range(1, n):
        cand = score[:, None] + body
        back[i] = cand.argmax(axis=0)
        score = cand.max(axis=0) + emissions[i]
    path = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


class Perceptron:
    """Emission weights ``weights`` (features, T) and transitions ``trans`` (T + 1, T)."""

    def __init__(self, n_features: int, tags: Sequence[str]) -> None:
        self.tags = list(tags)
        t = len(self.tags)
        self.mask = allowed_transitions(self.tags)
        self.weights = np.zeros((n_features, t), dtype=np.float64)
        self.trans = np.zeros((t + 1, t), dtype=np.float64)

    def emissions(self, idx: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Per-token scores; ``idx`` holds the feature ids of all tokens, token ``k`` owns
        ``idx[offsets[k]:offsets[k + 1]]`` (every token has at least its bias feature)."""
        return np.add.reduceat(self.weights[idx], offsets[:-1], axis=0)

    def decode(self, idx: np.ndarray, offsets: np.ndarray, o_bias: float = 0.0) -> list[int]:
        em = self.emissions(idx, offsets)
        if o_bias:
            em[:, 0] -= o_bias
        return viterbi(em, np.where(self.mask, self.trans, NEG))

    def fit(
        self,
        sentences: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
        epochs: int,
        seed: int,
    ) -> Perceptron:
        """``sentences``: (feature ids, token offsets, gold tag ids) per sentence."""
        rng = np.random.default_rng(seed)
        t = len(self.tags)
        acc_w = np.zeros_like(self.weights)
        acc_t = np.zeros_like(self.trans)
        step = 1.0
        masked = np.where(self.mask, 0.0, NEG)
        for _ in range(epochs):
            for s in rng.permutation(len(sentences)):
                idx, offsets, gold = sentences[s]
                em = np.add.reduceat(self.weights[idx], offsets[:-1], axis=0)
                pred = np.array(viterbi(em, self.trans + masked))
                if not np.array_equal(pred, gold):
                    for k in np.nonzero(pred != gold)[0]:
                        feats = idx[offsets[k] : offsets[k + 1]]
                        g, p = gold[k], pred[k]
                        self.weights[feats, g] += 1.0
                        self.weights[feats, p] -= 1.0
                        acc_w[feats, g] += step
                        acc_w[feats, p] -= step
                    prev_g = np.concatenate(([t], gold[:-1]))
                    prev_p = np.concatenate(([t], pred[:-1]))
                    np.add.at(self.trans, (prev_g, gold), 1.0)
                    np.add.at(self.trans, (prev_p, pred), -1.0)
                    np.add.at(acc_t, (prev_g, gold), step)
                    np.add.at(acc_t, (prev_p, pred), -step)
                step += 1.0
        self.weights -= acc_w / step
        self.trans -= acc_t / step
        return self
