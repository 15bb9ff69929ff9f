"""Tokens and token features for the name / address taggers (English and Chinese).

English: word tokens (``\\w+`` runs and single punctuation marks) with lexical, shape and
context features (a window of two tokens each side), the usual CRF-style feature set
(Lample et al. 2016 list the same families). Chinese: one token per Han character (Latin
words and digit runs stay whole) with character n-grams in a window of two and the jieba
word it sits in (word, part-of-speech tag such as ``nr`` person / ``ns`` place, position
B/M/E/S), so the character model sees the segmenter's guess without trusting it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

Token = tuple[str, int, int]  # (text, start, end), end exclusive

_EN_TOKEN = re.compile(r"\w+|[^\w\s]")
_ZH_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|\S")
_HAN = re.compile(r"[\u3400-\u9fff]")
_jieba_lock = threading.Lock()
_posseg: Any = None


def tokenize(text: str, language: str) -> list[Token]:
    """Tokens of ``text`` with character offsets."""
    pattern = _ZH_TOKEN if language == "zh" else _EN_TOKEN
    return [(m.group(), m.start(), m.end()) for m in pattern.finditer(text)]


def _shape(word: str) -> str:
    out: list[str] = []
    for ch in word:
        if ch.isupper():
            c = "X"
        elif ch.islower():
            c = "x"
        elif ch.isdigit():
            c = "d"
        else:
            c = ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)[:6]


def _word_feats(word: str) -> dict[str, str]:
    low = word.lower()
    return {"w": low, "sh": _shape(word)}


def english_features(text: str, tokens: Sequence[Token]) -> list[list[str]]:
    """One list of string features per token."""
    words = [t[0] for t in tokens]
    base = [_word_feats(w) for w in words]
    feats: list[list[str]] = []
    n = len(tokens)
    for i, (word, start, _) in enumerate(tokens):
        low = word.lower()
        f = [
            "b",
            f"w={low}",
            f"sh={base[i]['sh']}",
            f"p3={low[:3]}",
            f"s3={low[-3:]}",
            f"s2={low[-2:]}",
            f"len={min(len(word), 8)}",
        ]
        if word[:1].isupper():
            f.append("title")
        if word.isupper() and len(word) > 1:
            f.append("upper")
        if word.isdigit():
            f.append(f"digits={min(len(word), 6)}")
        if not word.isascii():
            f.append("nonascii")
        prev_end = tokens[i - 1][2] if i else 0
        gap = text[prev_end:start]
        if i == 0:
            f.append("bos")
        if "\n" in gap:
            f.append("nl_before")
        if i + 1 < n and "\n" in text[tokens[i][2] : tokens[i + 1][1]]:
            f.append("nl_after")
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < n:
                f.append(f"w{d}={base[j]['w']}")
                f.append(f"sh{d}={base[j]['sh']}")
            else:
                f.append(f"w{d}=<pad>")
        if i:
            f.append(f"w-1w={base[i - 1]['w']}|{low}")
            f.append(f"sh-1sh={base[i - 1]['sh']}|{base[i]['sh']}")
        if i + 1 < n:
            f.append(f"ww+1={low}|{base[i + 1]['w']}")
            f.append(f"shsh+1={base[i]['sh']}|{base[i + 1]['sh']}")
        if i >= 2:
            f.append(f"w-2w-1={base[i - 2]['w']}|{base[i - 1]['w']}")
        feats.append(f)
    return feats


def jieba_words(text: str) -> list[tuple[str, str]]:
    """jieba words of ``text`` with their part-of-speech flags (``nr`` person, ``ns`` place)."""
    global _posseg
    with _jieba_lock:  # jieba's lazy initialisation is not thread safe
        if _posseg is None:
            import logging

            import jieba
            import jieba.posseg

            jieba.setLogLevel(logging.WARNING)
            _posseg = jieba.posseg
        return [(p.word, p.flag) for p in _posseg.lcut(text, HMM=True)]


def _char_words(text: str) -> list[tuple[str, str, str]]:
    """For each character: (jieba word, its POS flag, position B/M/E/S)."""
    out: list[tuple[str, str, str]] = [("", "x", "S")] * len(text)
    pos = 0
    for word, flag in jieba_words(text):
        n = len(word)
        for k in range(n):
            if pos + k >= len(text):
                break
            tag = "S" if n == 1 else "B" if k == 0 else "E" if k == n - 1 else "M"
            out[pos + k] = (word, flag, tag)
        pos += n
    return out


# the hundred most common Chinese surnames (Ministry of Public Security ranking, 2019)
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)
_PLACE_SUFFIX = frozenset("省市区县镇乡村路街道巷弄号楼室州岛湾山河湖港")


def _kind(ch: str) -> str:
    if _HAN.match(ch):
        return "h"
    if ch.isdigit():
        return "d"
    if ch.isalpha():
        return "a"
    return "p"


def chinese_features(text: str, tokens: Sequence[Token]) -> list[list[str]]:
    """One list of string features per token (a character, or a Latin word / digit run)."""
    words = _char_words(text)
    chars = [t[0] if len(t[0]) == 1 else f"<{_kind(t[0][0])}>" for t in tokens]
    n = len(tokens)

    def c(j: int) -> str:
        return chars[j] if 0 <= j < n else "#"

    feats: list[list[str]] = []
    for i, (tok, start, _) in enumerate(tokens):
        word, flag, where = words[start]
        prev_flag = words[tokens[i - 1][1]][1] if i else "^"
        nxt = tokens[i + 1][1] if i + 1 < n else -1
        next_flag = words[nxt][1] if nxt >= 0 else "$"
        f = [
            "b",
            f"c={c(i)}",
            f"c-1={c(i - 1)}",
            f"c+1={c(i + 1)}",
            f"c-2={c(i - 2)}",
            f"c+2={c(i + 2)}",
            f"c-1c={c(i - 1)}{c(i)}",
            f"cc+1={c(i)}{c(i + 1)}",
            f"c-2c-1={c(i - 2)}{c(i - 1)}",
            f"c+1c+2={c(i + 1)}{c(i + 2)}",
            f"c-1cc+1={c(i - 1)}{c(i)}{c(i + 1)}",
            f"k={_kind(tok[0])}",
            f"pos={flag}",
            f"pos={flag}|{where}",
            f"posw={flag}|{where}|{len(word) if len(word) < 5 else 5}",
            f"ppos={prev_flag}|{flag}",
            f"npos={flag}|{next_flag}",
            f"wd={word}" if len(word) <= 4 else f"wdlong={word[-2:]}",
            f"wdc={word}|{where}" if len(word) <= 4 else "wdc=long",
        ]
        if tok in SURNAMES:
            f.append("surname")
            f.append(f"surname|{where}")
        if tok in _PLACE_SUFFIX:
            f.append(f"placesuf|{where}")
        if i + 1 < n and tokens[i + 1][0] in _PLACE_SUFFIX:
            f.append("next_placesuf")
        if i and tokens[i - 1][0] in SURNAMES:
            f.append(f"prev_surname|{flag}")
        if len(tok) > 1:
            f.append(f"latin={tok.lower()}")
            if tok[:1].isupper():
                f.append("latin_title")
        feats.append(f)
    return feats


def features(text: str, tokens: Sequence[Token], language: str) -> list[list[str]]:
    """Features of ``tokens`` in ``text`` for ``language`` (``en`` or ``zh``)."""
    if language == "zh":
        return chinese_features(text, tokens)
    return english_features(text, tokens)
