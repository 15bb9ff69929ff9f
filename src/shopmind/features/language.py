"""Per-message language: Chinese when CJK characters make up enough of the letters.

Customer messages are short and often mixed ("订单 o123 还没到", "iPhone 壳有货吗"), so a
share of CJK characters among letters is a steadier signal than a general-purpose detector.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]

#: CJK unified ideographs (with extension A) and compatibility ideographs.
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

#: Share of CJK characters among letters from which a message counts as Chinese.
CJK_SHARE = 0.3


def cjk_share(text: str) -> float:
    """CJK characters / letters (0 for a text without letters)."""
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return 0.0
    return len(CJK.findall(text)) / letters


def detect_language(text: str) -> Language:
    """'zh' when at least 30% of the letters are CJK characters (one counts as one letter,
    while an English word counts as several, so a Chinese sentence with a brand name in it
    stays Chinese), otherwise 'en'."""
    return "zh" if cjk_share(text) >= CJK_SHARE else "en"
