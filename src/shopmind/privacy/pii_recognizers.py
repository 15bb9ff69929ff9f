"""Presidio recognizers for English and Chinese free text.

* :class:`FastPathRecognizer` runs the regex redactor (:func:`shopmind.privacy.redact.find_pii`:
  e-mail, IP, Chinese ID card with its check character, Luhn-checked cards, Chinese and
  international phones), so the rich analyzer never finds less than the fast path.
* :class:`TaggerRecognizer` wraps a trained :class:`~shopmind.privacy.pii_tagger.PiiTagger`
  (names, addresses and the other context-dependent types).
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
from shopmind.privacy.pii_tagger import SpanTagger
from shopmind.privacy.redact import find_pii

FAST_KINDS = {
    "email": "EMAIL",
    "phone": "PHONE",
    "ip": "IP",
    "id_card": "ID_CARD",
    "bank_card": "BANK_CARD",
}
_FAST_SCORES = {"EMAIL": 1.0, "IP": 0.95, "ID_CARD": 1.0, "BANK_CARD": 1.0, "PHONE": 0.9}


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


class TaggerRecognizer(EntityRecognizer):
    """Spans from a trained tagger; score ``0.5 + p / 2`` where ``p`` is the tagger's mean
    token probability, so a span the tagger chose is never below 0.5."""

    def __init__(self, tagger: SpanTagger) -> None:
        self.tagger = tagger
        super().__init__(
            supported_entities=list(tagger.config.labels),
            name=f"shopmind_tagger_{tagger.config.language}",
            supported_language=tagger.config.language,
        )

    def load(self) -> None:
        """The tagger is loaded by its caller."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(kind, start, end, 0.5 + score / 2)
            for kind, start, end, score in self.tagger.predict(text)
            if kind in entities
        ]


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
