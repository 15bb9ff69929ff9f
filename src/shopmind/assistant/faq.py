"""FAQ: questions with answers per language, stored in the ``faq`` table, and retrieval
(message -> best answer with a score in [0, 1]).

The score of a FAQ entry is the cosine similarity of the message with its question over
TF-IDF of words (jieba for Chinese) and characters, averaged with the cosine of sentence
embeddings (MiniLM for English entries, e5 for Chinese) when ``embeddings`` is on. Only
entries in the message's language compete, unless there are none in that language.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from shopmind.errors import AssistantError
from shopmind.features.language import detect_language
from shopmind.models.intent import LANGUAGE_ENCODER, MAX_TEXT_CHARS, check_texts, tokens


def load_faq(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, source: str, replace: bool = True
) -> dict[str, Any]:
    """Store a FAQ table with columns question, answer and (optional) language ('en'/'zh',
    detected from the question when absent or empty). ``replace`` drops the entries loaded
    before from the same source. One transaction."""
    missing = [c for c in ("question", "answer") if c not in frame.columns]
    if missing:
        raise AssistantError(
            f"FAQ file {source} lacks column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, frame.columns))}).",
            hint="A FAQ file has the columns question, answer and optionally language.",
        )
    if frame.empty:
        raise AssistantError(f"FAQ file {source} has no rows.", hint="Add question/answer rows.")
    questions = check_texts(frame["question"].tolist(), what="question", max_chars=MAX_TEXT_CHARS)
    answers = check_texts(frame["answer"].tolist(), what="answer", max_chars=MAX_TEXT_CHARS)
    given = frame["language"].tolist() if "language" in frame.columns else [None] * len(frame)
    languages = []
    for question, value in zip(questions, given, strict=True):
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        text = text.strip().lower()
        if text.startswith("zh") or text in {"cn", "chinese", "中文"}:
            languages.append("zh")
        elif text.startswith("en") or text == "english":
            languages.append("en")
        else:
            languages.append(detect_language(question))
    now = dt.datetime.now(dt.UTC)
    rows = [
        (
            hashlib.sha256(f"{source}\x00{q}".encode()).hexdigest()[:16],
            q.strip(),
            a.strip(),
            lang,
            source,
            now,
        )
        for q, a, lang in zip(questions, answers, languages, strict=True)
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        removed = 0
        if replace:
            removed = int(
                con.execute("SELECT count(*) FROM faq WHERE source = ?", [source]).fetchone()[0]  # type: ignore[index]
            )
            con.execute("DELETE FROM faq WHERE source = ?", [source])
        con.executemany("INSERT INTO faq VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    counts = pd.Series(languages).value_counts().to_dict()
    return {"source": source, "loaded": len(rows), "replaced": removed, "languages": counts}


@dataclass(frozen=True)
class FaqHit:
    question: str
    answer: str
    language: str
    score: float


class FaqIndex:
    """Retrieval over the stored FAQ entries."""

    def __init__(self, entries: pd.DataFrame, embeddings: bool = True) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.entries = entries.reset_index(drop=True)
        self.embeddings = embeddings and not entries.empty
        self._vectors: np.ndarray | None = None
        if entries.empty:
            return
        questions = self.entries["question"].tolist()
        self.word = TfidfVectorizer(tokenizer=tokens, token_pattern=None, lowercase=False)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)
        self._word = self.word.fit_transform(questions)
        self._char = self.char.fit_transform(questions)
        if self.embeddings:
            from shopmind.models import intent

            vectors = np.zeros((len(questions), 384), dtype=np.float32)
            for lang, encoder in LANGUAGE_ENCODER.items():
                rows = np.flatnonzero(self.entries["language"].to_numpy() == lang)
                if len(rows):
                    vectors[rows] = intent.ENCODE([questions[i] for i in rows], encoder)
            self._vectors = vectors

    @classmethod
    def from_workspace(cls, con: duckdb.DuckDBPyConnection, embeddings: bool = True) -> FaqIndex:
        frame = con.execute("SELECT question, answer, language FROM faq ORDER BY faq_id").df()
        return cls(frame, embeddings=embeddings)

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, text: str, k: int = 3, language: str | None = None) -> list[FaqHit]:
        """The ``k`` best entries for ``text``, best first."""
        if self.entries.empty:
            return []
        language = language or detect_language(text)
        langs = self.entries["language"].to_numpy()
        allowed = langs == language
        if not allowed.any():
            allowed[:] = True
        word = (self._word @ self.word.transform([text]).T).toarray().ravel()
        char = (self._char @ self.char.transform([text]).T).toarray().ravel()
        score = 0.5 * word + 0.5 * char
        if self._vectors is not None:
            from shopmind.models import intent

            query = intent.ENCODE([text], LANGUAGE_ENCODER.get(language, "e5"))[0]
            score = 0.5 * score + 0.5 * np.clip(self._vectors @ query, 0, 1)
        score = np.where(allowed, score, -1.0)
        order = np.argsort(-score, kind="stable")[:k]
        return [
            FaqHit(
                str(self.entries.at[i, "question"]),
                str(self.entries.at[i, "answer"]),
                str(langs[i]),
                float(round(score[i], 4)),
            )
            for i in order
            if score[i] >= 0
        ]
