"""Gazetteers learned from training spans, used as tagger features.

An entry is the text of a training entity (Chinese: the string, 2-12 characters; English: the
lower-cased token sequence, 1-5 tokens). An entry is kept only when, in the training texts,
it is an entity at least as often as it is not (``the``, ``May``, ``中国`` as a word in a
company name are dropped that way). Matches are greedy, longest first, and give the tokens
they cover the features ``lex=TYPE|B/I/E/S``. Training uses out-of-fold lexicons (see
:class:`~shopmind.privacy.pii_tagger.PiiTagger`) so the model does not learn to trust a
feature that is always right on its own training data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from shopmind.privacy.pii_features import Token, tokenize

Lexicon = dict[str, str]  # entry key -> entity type
_MAX_ZH, _MAX_EN = 12, 5


def _keys(tokens: Sequence[Token], language: str) -> list[tuple[int, int, str]]:
    """Every candidate (first token, last token + 1, key) of ``tokens``."""
    out = []
    n = len(tokens)
    for i in range(n):
        if language == "zh":
            text = ""
            for j in range(i, min(n, i + _MAX_ZH)):
                text += tokens[j][0]
                out.append((i, j + 1, text))
        else:
            words: list[str] = []
            for j in range(i, min(n, i + _MAX_EN)):
                words.append(tokens[j][0].lower())
                out.append((i, j + 1, " ".join(words)))
    return out


def build_lexicon(
    examples: Sequence[tuple[str, Sequence[tuple[str, int, int]]]], language: str
) -> Lexicon:
    """Entries of every entity type in ``examples`` that pass the is-mostly-an-entity test."""
    kinds: dict[str, Counter[str]] = {}
    spans_by_text = []
    for text, spans in examples:
        tokens = tokenize(text, language)
        bounds = {}
        for kind, start, end in spans:
            inside = [i for i, (_, s, e) in enumerate(tokens) if s < end and start < e]
            if not inside:
                continue
            first, last = inside[0], inside[-1] + 1
            key = _key(tokens[first:last], language)
            if _usable(key, language):
                kinds.setdefault(key, Counter())[kind] += 1
                bounds[(first, last)] = key
        spans_by_text.append((tokens, bounds))
    entity_count = Counter({k: sum(c.values()) for k, c in kinds.items()})
    other_count: Counter[str] = Counter()
    for tokens, bounds in spans_by_text:
        for first, last, key in _keys(tokens, language):
            if key in entity_count and bounds.get((first, last)) != key:
                other_count[key] += 1
    return {
        key: kinds[key].most_common(1)[0][0]
        for key, n in entity_count.items()
        if n >= other_count[key]
    }


def _key(tokens: Sequence[Token], language: str) -> str:
    if language == "zh":
        return "".join(t[0] for t in tokens)
    return " ".join(t[0].lower() for t in tokens)


def _usable(key: str, language: str) -> bool:
    if language == "zh":
        return 2 <= len(key) <= _MAX_ZH * 2
    return len(key) >= 2 and key.count(" ") < _MAX_EN


def lexicon_features(tokens: Sequence[Token], lexicon: Lexicon, language: str) -> list[list[str]]:
    """``lex=TYPE|B/I/E/S`` for tokens covered by the longest lexicon match at each point."""
    n = len(tokens)
    out: list[list[str]] = [[] for _ in range(n)]
    if not lexicon:
        return out
    best: dict[int, tuple[int, str]] = {}
    for first, last, key in _keys(tokens, language):
        kind = lexicon.get(key)
        if kind is not None and last > best.get(first, (first, ""))[0]:
            best[first] = (last, kind)
    i = 0
    while i < n:
        if i not in best:
            i += 1
            continue
        last, kind = best[i]
        for k in range(i, last):
            pos = "S" if last - i == 1 else "B" if k == i else "E" if k == last - 1 else "I"
            out[k].append(f"lex={kind}|{pos}")
            out[k].append(f"lex={kind}")
        i = last
    return out
