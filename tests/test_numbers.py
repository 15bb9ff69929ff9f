"""Numbers in sentences never use scientific notation."""

from __future__ import annotations

import math

import pytest

from shopmind.numbers import plain_number


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (75970.23, "75,970.23"),
        (2.09e6, "2,090,000"),
        (0.00012, "0.00012"),
        (1.2e-9, "0.0000000012"),
        (3.14159, "3.142"),
        (2015.0, "2015"),
        (15000, "15,000"),
        (503767.750000012, "503,767.75"),
        (-0.5, "-0.5"),
        (math.nan, "missing"),
    ],
)
def test_plain_number(value: float, shown: str) -> None:
    assert plain_number(value) == shown
