"""Presidio recognizers for English and Chinese free text.

* :class:`FastPathRecognizer` runs the regex redactor (:func:`shopmind.privacy.redact.find_pii`:
  e-mail, IP, Chinese ID card with its check character, Luhn-checked cards, Chinese and
  international phones), so the rich analyzer never finds less than the fast path.
* :class:`TaggerRecognizer` wraps a trained :class:`~shopmind.privacy.pii_tagger.PiiTagger`
  (names, addresses and the other context-dependent types of
  :data:`~shopmind.privacy.pii_tagger.TAGGER_TYPES`; never a number kind: those come only
  from the validated patterns). Its English spans are cut where they cover an order, SKU or
  tracking number, a price, a date or an all-caps product name, and lose common words at
  their edges (``Call``, ``Product``, ``to``).
* :class:`JiebaRecognizer`: without a trained Chinese model, jieba's part-of-speech tags
  (``nr`` person, ``ns`` place) give names and places.
* :class:`ChineseAddressRecognizer`: a pattern for detailed Chinese addresses (province /
  city / district / road / number / building / room), as customers type them in chats.
* Presidio's own pattern recognizers for IBAN, US SSN, URL and phone numbers (phonenumbers).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from presidio_analyzer import EntityRecognizer, RecognizerResult

from shopmind.privacy.pii_features import SURNAMES, jieba_words
from shopmind.privacy.pii_tagger import TAGGER_TYPES, SpanTagger
from shopmind.privacy.redact import find_pii

FAST_KINDS = {
    "email": "EMAIL",
    "phone": "PHONE",
    "ip": "IP",
    "id_card": "ID_CARD",
    "bank_card": "BANK_CARD",
    "iban": "IBAN",
    "ssn": "ID_NUMBER",
}
_FAST_SCORES = {
    "EMAIL": 1.0,
    "IP": 0.95,
    "ID_CARD": 1.0,
    "BANK_CARD": 1.0,
    "IBAN": 1.0,
    "ID_NUMBER": 0.9,
    "PHONE": 0.9,
}


class FastPathRecognizer(EntityRecognizer):
    """The regex redactor's spans as Presidio results (validated kinds score 1.0)."""

    def __init__(self, language: str) -> None:
        super().__init__(
            supported_entities=sorted(FAST_KINDS.values()),
            name=f"shopmind_fast_path_{language}",
            supported_language=language,
        )

    def load(self) -> None:
        """Nothing to load: the patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        out = []
        for kind, start, end in find_pii(text):
            entity = FAST_KINDS[kind]
            if entity in entities:
                out.append(RecognizerResult(entity, start, end, _FAST_SCORES[entity]))
        return out


_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
)
_CODE_WORDS = r"order|sku|item|product|article|tracking|invoice|ref"
# what a name, address or place never covers: an order / SKU / tracking number with its
# keyword, a price, an all-caps product name (3+ words; Online Retail's descriptions)
_NEVER = re.compile(
    rf"(?i:\b(?:{_CODE_WORDS})\b(?:\s*(?:no\.?|number|id|code))?\s*[:#]?\s*[a-z0-9-]*\d[a-z0-9-]*)"
    r"|[$£€¥]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*\.\d\d\b"
    r"|\b[A-Z][A-Z-]{2,}(?:\s+[A-Z][A-Z-]{2,}){2,}\b"
)
# ... nor a date, unless it is a DATE_TIME
_DATE = re.compile(
    rf"\b\d{{4}}-\d\d-\d\d\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
    rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
)
#: words that never start or end a name, address or place (sentence openers, function words,
#: shop words, parcel carriers); a span made only of them is dropped
_EDGE_TEXT = """
a an the to on at in of for via and or is are was my our your his her their with from
by please call visit order orders product products sku item items tracking shipped ship
shipping delivery deliver delivered send sent cost costs hi hello dear thanks thank
where when what how why who which can could would should hotline customer service
support help email phone contact refund return returns invoice number no dhl ups fedex
usps tnt dpd gls hermes evri parcelforce"""
EDGE_WORDS = frozenset(_EDGE_TEXT.split())
_WORD = re.compile(r"\w+")


def _cut(pieces: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for s, e in pieces:
        if e <= lo or hi <= s:
            out.append((s, e))
            continue
        if s < lo:
            out.append((s, lo))
        if hi < e:
            out.append((hi, e))
    return out


def _trim_words(text: str, start: int, end: int) -> tuple[int, int]:
    """From the first to the last word of ``text[start:end]`` that is not an edge word."""
    words = [m.span() for m in _WORD.finditer(text, start, end)]
    keep = [i for i, (s, e) in enumerate(words) if text[s:e].lower() not in EDGE_WORDS]
    if not keep:
        return start, start
    return words[keep[0]][0], words[keep[-1]][1]


def _whole_words(text: str, start: int, end: int) -> bool:
    """No Latin letter or digit glued to either edge (a span never splits a token)."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def plausible_spans(text: str, kind: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of an English tagger span ``text[start:end]`` of type ``kind`` that can be
    one: cut where :data:`_NEVER` (and, but for DATE_TIME, a date) matches, from the first to
    the last word that is not in :data:`EDGE_WORDS`, whole words only."""
    pieces = [(start, end)]
    blocked = [*_NEVER.finditer(text), *(_DATE.finditer(text) if kind != "DATE_TIME" else ())]
    for m in blocked:
        pieces = _cut(pieces, *m.span())
    out = []
    for s, e in pieces:
        s, e = _trim_words(text, s, e)
        if s < e and _whole_words(text, s, e):
            out.append((s, e))
    return out


class TaggerRecognizer(EntityRecognizer):
    """Spans from a trained tagger, of :data:`~shopmind.privacy.pii_tagger.TAGGER_TYPES` only
    (English ones through :func:`plausible_spans`); score ``0.5 + p / 2`` where ``p`` is the
    tagger's mean token probability, so a span the tagger chose is never below 0.5."""

    def __init__(self, tagger: SpanTagger) -> None:
        self.tagger = tagger
        super().__init__(
            supported_entities=[k for k in tagger.config.labels if k in TAGGER_TYPES],
            name=f"shopmind_tagger_{tagger.config.language}",
            supported_language=tagger.config.language,
        )

    def load(self) -> None:
        """The tagger is loaded by its caller."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        english = self.tagger.config.language == "en"
        out = []
        for kind, start, end, score in self.tagger.predict(text):
            if kind not in entities or kind not in TAGGER_TYPES:
                continue
            parts = plausible_spans(text, kind, start, end) if english else [(start, end)]
            out += [RecognizerResult(kind, s, e, 0.5 + score / 2) for s, e in parts]
        return out


def _name_like(word: str) -> bool:
    """2-4 characters, a common surname first, not a doubled word (谢谢, 哈哈)."""
    return (
        2 <= len(word) <= 4 and word[0] in SURNAMES and not (len(word) == 2 and word[0] == word[1])
    )


class JiebaRecognizer(EntityRecognizer):
    """Chinese names (``nr`` words that look like a surname + given name) and places (``ns``)
    from jieba's part-of-speech tagger."""

    FLAGS: ClassVar[dict[str, str]] = {
        "nr": "PERSON",
        "nrfg": "PERSON",
        "nrt": "PERSON",
        "ns": "ADDRESS",
    }

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON", "ADDRESS"],
            name="shopmind_jieba_zh",
            supported_language="zh",
        )

    def load(self) -> None:
        """jieba loads its dictionary on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        pos = 0
        for word, flag in jieba_words(text):
            entity = self.FLAGS.get(flag)
            if entity == "PERSON" and not _name_like(word):
                entity = None
            if entity in entities and len(word) >= 2:
                out.append(RecognizerResult(str(entity), pos, pos + len(word), 0.6))
            pos += len(word)
        return out


_HAN = r"[\u4e00-\u9fa5]"
# an optional cue ("住在", "地址：", "寄到") that is not part of the address, then two or more
# administrative / street parts, then optional number, building, unit and room
_ZH_ADDRESS = re.compile(
    r"(?:住在|住址|地址|收货地址|寄到|送到|发到|位于|搬到|在|到)?[:：是为]?"
    rf"(?P<addr>(?:{_HAN}{{1,8}}?(?:省|自治区|市|区|县|镇|乡|街道|村|大道|路|街|巷|弄|胡同|小区|花园|公寓|大厦)){{2,}}"
    r"(?:[0-9一二三四五六七八九十百]+(?:号院|号楼|号|弄|栋|幢|座|单元|楼|层|室|房))*)"
)


class ChineseAddressRecognizer(EntityRecognizer):
    """Detailed Chinese addresses such as 上海市浦东新区张江路88号3号楼502室 (score 0.7)."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["ADDRESS"], name="shopmind_zh_address", supported_language="zh"
        )

    def load(self) -> None:
        """The pattern is compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if "ADDRESS" not in entities:
            return []
        return [
            RecognizerResult("ADDRESS", m.start("addr"), m.end("addr"), 0.7)
            for m in _ZH_ADDRESS.finditer(text)
        ]


def english_pattern_recognizers() -> list[EntityRecognizer]:
    """Presidio's predefined pattern recognizers we use for English (types mapped later)."""
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    return [
        *script_free_recognizers("en"),
        PhoneRecognizer(supported_regions=("US", "UK", "DE", "FR", "IT", "ES", "CN", "AU")),
    ]


def script_free_recognizers(language: str) -> list[EntityRecognizer]:
    """IBANs, US SSNs and URLs look the same inside any language's text: Presidio's pattern
    recognizers for them, registered for ``language`` (a Chinese message can hold an IBAN)."""
    from presidio_analyzer.predefined_recognizers import (
        IbanRecognizer,
        UrlRecognizer,
        UsSsnRecognizer,
    )

    return [
        IbanRecognizer(supported_language=language),
        UsSsnRecognizer(supported_language=language),
        UrlRecognizer(supported_language=language),
    ]
