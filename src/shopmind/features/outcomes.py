"""Yes/no outcome columns as 0/1, read the same way by every command that takes one
(``propensity train --data --label``, ``uplift train --outcome``, ``abtest analyze
--conversion-col``): 1/0 (also 1.0/0.0), true/false, yes/no, y/n, t/f in any case. A
missing value is never taken for a 0: it is an error that counts the rows and says how to
fix them, as is any other value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError

_POSITIVE = frozenset({"1", "1.0", "true", "yes", "y", "t"})
_NEGATIVE = frozenset({"0", "0.0", "-0.0", "false", "no", "n", "f"})


def binary_outcome(values: pd.Series, name: str, option: str) -> np.ndarray:
    """0/1 integers for ``values`` (the column ``name``, given as ``option``)."""
    text = values.astype("string").str.strip().str.lower()
    missing = text.isna() | (text == "")
    if missing.any():
        raise ShopmindError(
            f"{int(missing.sum()):,} of {len(values):,} rows have no value in '{name}'.",
            hint=f"Fill them or drop those rows: an empty {option} is not a 0.",
        )
    positive, negative = text.isin(_POSITIVE), text.isin(_NEGATIVE)
    odd = text[~(positive | negative)]
    if len(odd):
        shown = ", ".join(repr(v) for v in odd.unique()[:3])
        raise ShopmindError(
            f"Column '{name}' is not a yes/no outcome (e.g. {shown}).",
            hint=f"Pass a column of 1/0, true/false or yes/no as {option}.",
        )
    return positive.to_numpy(dtype=int)
