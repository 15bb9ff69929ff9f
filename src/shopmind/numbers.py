"""Numbers for people: never scientific notation, thousands separators on large values.

One place for the phrasing of a number inside a sentence (risk and propensity reasons, the
CLI's tables), so that ``7.597e+04`` never reaches a reader. ``--json`` keeps full precision.
"""

from __future__ import annotations

import math

import numpy as np


def plain_number(value: float, digits: int = 4) -> str:
    """``value`` without an exponent: whole numbers and values from 1,000 up with thousands
    separators (``75,970.23``, ``2,090,000``), smaller ones to ``digits`` significant digits
    (``0.00012``, ``3.142``); ``nan`` and infinities as words."""
    if isinstance(value, bool):
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "missing"
    if math.isinf(number):
        return "infinite" if number > 0 else "minus infinite"
    if number.is_integer() and abs(number) < 1e18:
        whole = int(number)
        return f"{whole:,}" if abs(whole) >= 10_000 else str(whole)
    if abs(number) >= 1000:
        return f"{number:,.2f}".rstrip("0").rstrip(".")
    return str(np.format_float_positional(number, precision=digits, fractional=False, trim="-"))
