"""A token tagger for entity spans (names, addresses, ...) in English or Chinese text.

Tokens (:mod:`shopmind.privacy.pii_features`) get BIO tags from a linear-chain model, an
averaged structured perceptron with Viterbi decoding (:mod:`shopmind.privacy.pii_perceptron`)
over sparse CRF-style features. ``o_bias`` lowers the score of ``O`` before decoding: a larger
value finds more spans (recall) at some cost in precision.

Saved as one ``.npz`` (feature strings, float16 weights, JSON config): no pickle.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shopmind.errors import ShopmindError
from shopmind.privacy.pii_features import Token, features, tokenize
from shopmind.privacy.pii_lexicon import Lexicon, build_lexicon, lexicon_features
from shopmind.privacy.pii_perceptron import Perceptron, bio_tags

Span = tuple[str, int, int]  # (entity type, start, end), end exclusive
Example = tuple[str, Sequence[Span]]
Prediction = tuple[str, int, int, float]  # (entity type, start, end, score)
TAGGER_SCORE = 0.7  # shown as 0.85 by the recognizer: below every validated pattern
#: What a tagger may report: kinds that need context, not a format. Numbers, e-mails, IPs,
#: URLs and IBANs come only from the validated patterns (checksums, format checks): the
#: tagger's guesses of them claimed order numbers, prices and dates. (It still trains on all
#: labels: mapping them to O lowered the English PII F2 from 0.713 to 0.686.)
TAGGER_TYPES = frozenset(
    {
        "PERSON",
        "ADDRESS",
        "LOCATION",
        "ORGANIZATION",
        "DATE_TIME",
        "TITLE",
        "AGE",
        "NRP",
        "ZIP_CODE",
    }
)


class PiiModelError(ShopmindError):
    """A PII tagger cannot be used (not fitted, missing or unreadable file)."""


class SpanTagger(Protocol):
    """What the analyzer needs of a tagger (this perceptron or
    :class:`~shopmind.privacy.pii_transformer.TransformerTagger`): ``config.language``,
    ``config.labels`` and ``predict(text)``."""

    config: Any

    def predict(self, text: str) -> list[Prediction]:
        """Entity spans ``(type, start, end, score)`` in ``text``."""
        ...


@dataclass
class TaggerConfig:
    """Hyperparameters. ``epochs``: perceptron passes over the data; ``min_count``: features
    seen fewer times in training are dropped; ``o_bias``: the recall knob (see above)."""

    language: str = "en"
    epochs: int = 8
    min_count: int = 2
    o_bias: float = 0.0
    lexicon: bool = True
    seed: int = 0
    labels: list[str] = field(default_factory=list)
    merge_types: list[str] = field(default_factory=lambda: ["ADDRESS"])


def _bio(tokens: Sequence[Token], spans: Sequence[Span]) -> list[str]:
    labels = ["O"] * len(tokens)
    for kind, start, end in spans:
        inside = [i for i, (_, s, e) in enumerate(tokens) if s < end and start < e]
        for n, i in enumerate(inside):
            labels[i] = f"{'B' if n == 0 else 'I'}-{kind}"
    return labels


class PiiTagger:
    """Token tagger for entity spans; ``fit(examples) -> self``, ``predict(text)``."""

    def __init__(self, config: TaggerConfig | None = None) -> None:
        self.config = config or TaggerConfig()

    # learned state
    tags_: list[str]
    index_: dict[str, int]
    model_: Perceptron
    lexicon_: Lexicon

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise PiiModelError(
                "This PII tagger is not fitted.", hint="Call fit() or load a saved tagger."
            )

    def _encode(self, feats: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        get = self.index_.get
        idx: list[int] = []
        offsets = [0]
        for f in feats:
            idx.extend(j for j in (get(x) for x in f) if j is not None)
            offsets.append(len(idx))
        return np.array(idx, dtype=np.int64), np.array(offsets, dtype=np.int64)

    def _features(self, text: str, tokens: Sequence[Token], lexicon: Lexicon) -> list[list[str]]:
        feats = features(text, tokens, self.config.language)
        if lexicon:
            lex = lexicon_features(tokens, lexicon, self.config.language)
            feats = [f + extra for f, extra in zip(feats, lex, strict=True)]
        return feats

    def fit(self, examples: Iterable[Example]) -> PiiTagger:
        """Learn from ``(text, spans)`` pairs; spans are ``(type, start, end)``."""
        lang = self.config.language
        data = list(examples)
        self.lexicon_: Lexicon = {}
        folds: list[Lexicon] = [{}, {}]
        if self.config.lexicon:
            self.lexicon_ = build_lexicon(data, lang)
            # out of fold: a sentence sees the lexicon of the other half only
            folds = [build_lexicon(data[1 - f :: 2], lang) for f in range(2)]
        rows: list[tuple[list[list[str]], list[str]]] = []
        for n, (text, spans) in enumerate(data):
            tokens = tokenize(text, lang)
            if tokens:
                rows.append((self._features(text, tokens, folds[n % 2]), _bio(tokens, spans)))
        if not rows:
            raise PiiModelError("No training text given.", hint="Pass at least one example.")
        counts = Counter(x for feats, _ in rows for f in feats for x in f)
        names = sorted(x for x, c in counts.items() if c >= self.config.min_count or x == "b")
        self.index_ = {x: i for i, x in enumerate(names)}
        kinds = sorted({lab[2:] for _, labels in rows for lab in labels if lab != "O"})
        self.config.labels = kinds
        self.tags_ = bio_tags(kinds)
        tag_id = {t: i for i, t in enumerate(self.tags_)}
        sentences = []
        for feats, labels in rows:
            idx, offsets = self._encode(feats)
            sentences.append((idx, offsets, np.array([tag_id[x] for x in labels])))
        self.model_ = Perceptron(len(names), self.tags_).fit(
            sentences, self.config.epochs, self.config.seed
        )
        return self

    def predict(self, text: str) -> list[Prediction]:
        """Entity spans in ``text``: ``(type, start, end, score)``."""
        self._check()
        lang = self.config.language
        tokens = tokenize(text, lang)
        if not tokens:
            return []
        idx, offsets = self._encode(self._features(text, tokens, self.lexicon_))
        path = [self.tags_[k] for k in self.model_.decode(idx, offsets, self.config.o_bias)]
        out: list[Prediction] = []
        for i, tag in enumerate(path):
            if tag == "O":
                continue
            kind = tag[2:]
            if tag.startswith("B-") or not out or out[-1][0] != kind or path[i - 1] == "O":
                out.append((kind, tokens[i][1], tokens[i][2], TAGGER_SCORE))
            else:
                out[-1] = (kind, out[-1][1], tokens[i][2], TAGGER_SCORE)
        return _merge_gaps(text, [_trim(text, span) for span in out], self.config.merge_types)

    def save(self, path: Path) -> Path:
        """Write the tagger to ``path`` (``.npz``)."""
        self._check()
        names = sorted(self.index_, key=self.index_.__getitem__)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                config=np.array(json.dumps(asdict(self.config))),
                tags=np.array(self.tags_),
                names=np.array(names),
                weights=self.model_.weights.astype(np.float16),
                trans=self.model_.trans.astype(np.float32),
                lexicon=np.array(json.dumps(self.lexicon_, ensure_ascii=False)),
            )
        return path

    @classmethod
    def load(cls, path: Path) -> PiiTagger:
        """Read a tagger written by :meth:`save`."""
        if not path.is_file():
            raise PiiModelError(
                f"PII model file {path} does not exist.",
                hint="Train one with `shopmind pii train` or pass the right --model path.",
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                tagger = cls(TaggerConfig(**json.loads(str(data["config"]))))
                tagger.tags_ = [str(t) for t in data["tags"]]
                tagger.index_ = {str(x): i for i, x in enumerate(data["names"])}
                model = Perceptron(len(tagger.index_), tagger.tags_)
                model.weights = data["weights"].astype(np.float64)
                model.trans = data["trans"].astype(np.float64)
                tagger.model_ = model
                tagger.lexicon_ = json.loads(str(data["lexicon"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PiiModelError(
                f"PII model file {path} is unreadable ({exc}).",
                hint="Train it again with `shopmind pii train`.",
            ) from exc
        return tagger


_EDGE = " \t\r\n,;:!?\"'()[]{}<>，。；：！？、（）《》“”‘’"


def _trim(text: str, span: Prediction) -> Prediction:
    """Drop punctuation and spaces at the start and end of a span (a trailing ``.`` stays: it
    ends abbreviations such as ``St.``)."""
    kind, start, end, score = span
    while start < end and text[start] in _EDGE + ".":
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return (kind, start, end, score) if end > start else span


def _merge_gaps(text: str, spans: list[Prediction], types: Sequence[str]) -> list[Prediction]:
    """Join two spans of a type in ``types`` separated only by spaces and punctuation
    (an address cut by a comma or a line break is one address)."""
    out: list[Prediction] = []
    for span in spans:
        if out and out[-1][0] == span[0] and span[0] in types:
            gap = text[out[-1][2] : span[1]]
            if len(gap) <= 3 and all(not ch.isalnum() for ch in gap):
                last = out.pop()
                span = (span[0], last[1], span[2], (last[3] + span[3]) / 2)
        out.append(span)
    return out
