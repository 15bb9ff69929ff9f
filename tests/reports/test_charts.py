"""Report charts on edge cases: a retention matrix with no observable cell yet."""

from __future__ import annotations

import warnings

import numpy as np

from shopmind.reports.charts import heatmap


def test_heatmap_of_unobservable_cells_is_blank_and_silent() -> None:
    values = np.array([[np.nan, np.nan], [0.25, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an "All-NaN slice" RuntimeWarning fails the test
        svg = heatmap(["2025-01", "2025-02"], values, "months")
        empty = heatmap(["2025-03"], np.array([[np.nan, np.nan]]), "months")
    assert "25%" in svg and "nan%" not in svg and "nan%" not in empty
