"""Funnel windows: durations people write, and a clear error for the rest."""

from __future__ import annotations

import pytest

from shopmind.analytics.funnel import parse_window
from shopmind.errors import AnalyticsError


def test_window_spellings() -> None:
    assert [parse_window(w) for w in ("30m", "1h", "1d", "2w", "90")] == [
        1800,
        3600,
        86_400,
        1_209_600,
        90,
    ]


@pytest.mark.parametrize("text", ["-1d", "0", "0h", "soon", "", "1e400d"])
def test_windows_that_are_not_positive_durations_are_refused(text: str) -> None:
    with pytest.raises(AnalyticsError, match="duration"):
        parse_window(text)
