"""The rich free-text redactor: a Presidio ``AnalyzerEngine`` over blank spaCy pipelines.

No spaCy model is needed (``spacy.blank("en")`` / ``spacy.blank("zh")`` only tokenise);
entities come from our recognizers (:mod:`shopmind.privacy.pii_recognizers`): the regex fast
path, Presidio's pattern recognizers, trained taggers for names / addresses when given, and
jieba's name / place tags for Chinese without a tagger. Overlapping results are resolved by
score, then length, the validated kinds (:data:`STRUCTURED_TYPES`) before the taggers'
kinds; the types are ours (see :mod:`shopmind.privacy.pii_data`).

The fast path (:func:`shopmind.privacy.redact.redact_text`) stays the per-value redactor of
ingest and the assistant; this module is for free text where names and addresses matter.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

from shopmind.privacy.pii_data import PRESIDIO_TO_OURS
from shopmind.privacy.pii_recognizers import (
    ChineseAddressRecognizer,
    FastPathRecognizer,
    JiebaRecognizer,
    TaggerRecognizer,
    english_pattern_recognizers,
    script_free_recognizers,
)
from shopmind.privacy.pii_tagger import PiiModelError, Prediction, SpanTagger
from shopmind.privacy.redact import after_order_word

LANGUAGES = ("en", "zh")
#: Types replaced by :func:`redact_free_text` by default (organisations, titles, nationalities
#: and bare dates are found and scored but are not personal data on their own).
REDACTED_TYPES = (
    "PERSON",
    "ADDRESS",
    "LOCATION",
    "ZIP_CODE",
    "AGE",
    "PHONE",
    "EMAIL",
    "IP",
    "URL",
    "ID_CARD",
    "ID_NUMBER",
    "BANK_CARD",
    "IBAN",
)
_HAN = re.compile(r"[\u3400-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]")
# a number right after "order number" / "tracking number" is that, not a phone or an ID
_NOT_PII_BEFORE = re.compile(
    r"(?:订单号?|单号|运单|编码|编号|发票号码?|快递号|order\s*(?:no\.?|number|id)?|"
    r"tracking\s*(?:no\.?|number|id)?|invoice\s*(?:no\.?|number)?)\s*(?:是|为)?[:：#\s]*$",
    re.IGNORECASE,
)
_NUMBER_TYPES = frozenset({"PHONE", "ID_CARD", "ID_NUMBER", "BANK_CARD"})
#: Kinds found only by validated patterns (checksums, format checks), never by a tagger
STRUCTURED_TYPES = frozenset({*_NUMBER_TYPES, "EMAIL", "IP", "URL", "IBAN"})
# 400-xxx-xxxx: a Chinese business hotline (phonenumbers calls it a valid number), not a person
_HOTLINE = re.compile(r"\(?400\)?[ -]?\d{3}[ -]?\d{4}")
_OURS = {**PRESIDIO_TO_OURS, "US_SSN": "ID_NUMBER", "IBAN_CODE": "IBAN"}


def _validated(span: Prediction) -> bool:
    """A structured kind from a confident pattern (a checksum or format check, score >= 0.5):
    it wins any overlap with a tagger's span. Weak pattern hits (``phonenumbers``, 0.4) do not."""
    return span[0] in STRUCTURED_TYPES and span[3] >= 0.5


def _personal_number(text: str, span: Prediction) -> bool:
    """Not an order / tracking number (by the word before it), not a 400 hotline."""
    kind, start, end, _ = span
    if _NOT_PII_BEFORE.search(text[max(0, start - 16) : start]) or after_order_word(text, start):
        return False
    return not (kind == "PHONE" and _HOTLINE.fullmatch(text[start:end]))


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on ``spacy.blank(lang)``: tokens only, no entities, no download."""

    def __init__(self, languages: Sequence[str]) -> None:
        super().__init__(models=[{"lang_code": lang, "model_name": "blank"} for lang in languages])
        self.languages = list(languages)

    def load(self) -> None:
        import spacy

        self.nlp = {lang: spacy.blank(lang) for lang in self.languages}  # type: ignore[assignment]

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        if not self.nlp:
            self.load()
        return super().process_text(text, language)


def detect_language(text: str) -> str:
    """``zh`` when at least a fifth of the letters are Han characters, else ``en``."""
    letters = len(_LETTER.findall(text))
    han = len(_HAN.findall(text))
    return "zh" if letters and han / letters >= 0.2 else "en"


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise PiiModelError(
            f"Unsupported language {language!r} for PII redaction.",
            hint="Use en, zh or auto.",
        )
    return language


class PiiAnalyzer:
    """Finds and redacts PII in English and Chinese free text.

    ``taggers`` maps a language to a trained tagger (names, addresses, ...); a language
    without one uses patterns only (English) or patterns plus jieba tags (Chinese).
    ``jieba``: add jieba's name / place tags next to a Chinese tagger too (more recall, much
    less precision; default: only without a Chinese tagger).
    """

    def __init__(
        self, taggers: Mapping[str, SpanTagger] | None = None, *, jieba: bool | None = None
    ) -> None:
        self.taggers = dict(taggers or {})
        for lang in self.taggers:
            _check_language(lang)
        registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
        for lang in LANGUAGES:
            registry.add_recognizer(FastPathRecognizer(lang))
        for recognizer in [*english_pattern_recognizers(), *script_free_recognizers("zh")]:
            registry.add_recognizer(recognizer)
        registry.add_recognizer(ChineseAddressRecognizer())
        for tagger in self.taggers.values():
            registry.add_recognizer(TaggerRecognizer(tagger))
        if jieba or (jieba is None and "zh" not in self.taggers):
            registry.add_recognizer(JiebaRecognizer())
        self.engine = AnalyzerEngine(
            registry=registry,
            nlp_engine=BlankSpacyNlpEngine(LANGUAGES),
            supported_languages=list(LANGUAGES),
            default_score_threshold=0.4,
        )

    def analyze(self, text: str, language: str = "auto") -> list[Prediction]:
        """Non-overlapping ``(type, start, end, score)`` spans, sorted by start."""
        if not text or not text.strip():
            return []
        lang = detect_language(text) if language == "auto" else _check_language(language)
        results: list[Any] = self.engine.analyze(text=text, language=lang)
        spans = [
            (_OURS.get(r.entity_type, r.entity_type), r.start, r.end, float(r.score))
            for r in results
        ]
        spans = [s for s in spans if s[0] not in _NUMBER_TYPES or _personal_number(text, s)]
        spans.sort(key=lambda s: (not _validated(s), -s[3], -(s[2] - s[1]), s[1]))
        chosen: list[Prediction] = []
        for span in spans:
            if all(span[2] <= c[1] or c[2] <= span[1] for c in chosen):
                chosen.append(span)
        chosen.sort(key=lambda s: s[1])
        return chosen

    def redact(
        self, text: str, language: str = "auto", types: Sequence[str] = REDACTED_TYPES
    ) -> str:
        """``text`` with each span of a type in ``types`` replaced by ``<TYPE>``."""
        out: list[str] = []
        pos = 0
        for kind, start, end, _ in self.analyze(text, language):
            if kind not in types:
                continue
            out.append(text[pos:start])
            out.append(f"<{kind}>")
            pos = end
        out.append(text[pos:])
        return "".join(out)


_default: PiiAnalyzer | None = None
_default_lock = threading.Lock()


def default_analyzer() -> PiiAnalyzer:
    """A process-wide analyzer without trained taggers (patterns, plus jieba for Chinese)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PiiAnalyzer()
        return _default


def redact_free_text(
    text: str, language: str = "auto", *, analyzer: PiiAnalyzer | None = None
) -> str:
    """Redact PII in free text (English or Chinese) with Presidio and our recognizers.

    Pass an ``analyzer`` built with trained taggers for names and addresses in English;
    the default one finds structured PII in both languages and Chinese names / places.
    """
    return (analyzer or default_analyzer()).redact(text, language)
