"""Interface text in one catalogue per language (``i18n/en.json``, ``i18n/zh.json``).

A catalogue may be kept in parts so that pages written side by side do not edit one file:
``en.json`` plus every ``en.<part>.json`` are merged into the English catalogue (a key
defined twice is an error). Values are ``str.format`` templates:
``t("overview.vs_previous", change="+3.0%")``.
A key missing from a catalogue shows as the key itself and is logged once; a test finds every
literal key used in the templates and pages and checks both catalogues hold it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
FOLDER = Path(__file__).parent / "i18n"
log = logging.getLogger("shopmind.serving.web")


def load_catalogue(language: str, folder: Path = FOLDER) -> dict[str, str]:
    """Every key of ``language`` from ``<language>.json`` and ``<language>.*.json``."""
    files = [folder / f"{language}.json", *sorted(folder.glob(f"{language}.*.json"))]
    merged: dict[str, str] = {}
    for path in files:
        if not path.exists():
            continue
        part = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(set(part) & set(merged))
        if twice:
            raise ValueError(f"{path.name} defines keys already defined: {', '.join(twice[:5])}")
        merged.update({str(k): str(v) for k, v in part.items()})
    return merged


class Catalogues:
    """The loaded catalogues of every language."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self.texts = {lang: load_catalogue(lang, folder) for lang in LANGUAGES}
        self.missing: set[tuple[str, str]] = set()

    def translate(self, language: str, key: str, /, **values: object) -> str:
        """The text of ``key`` (the key itself, logged once, when a catalogue lacks it)."""
        text = self.texts[language].get(key)
        if text is None:
            if (language, key) not in self.missing:
                self.missing.add((language, key))
                log.warning("i18n key %r missing in %s.json", key, language)
            return key
        return text.format(**values) if values else text

    def translate_or(self, language: str, key: str, default: str) -> str:
        """The text of ``key``, or ``default`` (e.g. a name the library gave) without one."""
        return self.texts[language].get(key, default)

    def language(self, requested: str | None) -> str:
        """A supported language code for ``requested`` (the default otherwise)."""
        if requested:
            code = requested.strip().lower()[:2]
            if code in LANGUAGES:
                return code
        return DEFAULT_LANGUAGE
