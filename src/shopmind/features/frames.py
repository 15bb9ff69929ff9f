"""Helpers for feature frames read from an engine."""

from __future__ import annotations

from typing import Any

#: Decimals kept of engine-computed float features (see :func:`stable_floats`).
STABLE_DECIMALS = 9


def stable_floats(frame: Any) -> Any:
    """``frame`` with float columns rounded to ``STABLE_DECIMALS`` decimals: a parallel SQL
    sum adds in any order, so its last bits vary between runs, and a tree split or a bin edge
    that lands between the two values would make the same data train another model."""
    floats = frame.select_dtypes(include="floating").columns
    if len(floats):
        frame = frame.copy()
        frame[floats] = frame[floats].round(STABLE_DECIMALS)
    return frame
