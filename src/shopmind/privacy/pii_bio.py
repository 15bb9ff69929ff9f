"""BIO decoding for the transformer tagger: the transition mask, Viterbi over per-token
log-probabilities, and character spans from a tag path over sub-words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopmind.privacy.pii_tagger import TAGGER_SCORE, Prediction


def bio_allowed(tags: Sequence[str]) -> np.ndarray:
    """``allowed[i, j]``: tag ``j`` may follow tag ``i`` (``I-X`` only after ``B-X``/``I-X``);
    the last row is the start state."""
    n = len(tags)
    ok = np.ones((n + 1, n), dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            for i in range(n + 1):
                ok[i, j] = i < n and tags[i][2:] == tag[2:] and tags[i] != "O"
    return ok


def viterbi(scores: np.ndarray, allowed: np.ndarray) -> list[int]:
    """Best tag path of per-token log-probabilities under the BIO constraint."""
    penalty = np.where(allowed, 0.0, -1e9)
    best = scores[0] + penalty[-1]
    back = np.zeros(scores.shape, dtype=np.int64)
    for t in range(1, len(scores)):
        cand = best[:, None] + penalty[:-1]
        back[t] = cand.argmax(0)
        best = cand.max(0) + scores[t]
    path = [int(best.argmax())]
    for t in range(len(scores) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def bio_spans(text: str, path: Sequence[str], offsets: np.ndarray) -> list[Prediction]:
    """Character spans of a BIO path over sub-words, widened to whole words."""
    out: list[Prediction] = []
    for tag, (s, e) in zip(path, offsets.tolist(), strict=True):
        if tag == "O":
            continue
        kind = tag[2:]
        if tag.startswith("B-") or not out or out[-1][0] != kind:
            out.append((kind, int(s), int(e), TAGGER_SCORE))
        else:
            out[-1] = (kind, out[-1][1], int(e), TAGGER_SCORE)
    wide = []
    for kind, s, e, score in out:
        while s > 0 and text[s - 1].isalnum() and text[s].isalnum() and not _han(text[s]):
            s -= 1
        while e < len(text) and text[e].isalnum() and text[e - 1].isalnum() and not _han(text[e]):
            e += 1
        wide.append((kind, s, e, score))
    return wide


def _han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"
