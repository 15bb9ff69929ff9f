"""Uplift metrics, with the definitions of scikit-uplift (Radcliffe 2007; Gutierrez & Gerardy
2017): curves over customers sorted by predicted uplift, descending.

* uplift curve: ``(y_t / n_t - y_c / n_c) * n`` at each cut;
* Qini curve: ``y_t - y_c * n_t / n_c``;
* Qini coefficient / AUUC: area between the model's curve and the random line, divided by the
  same area for the perfect ordering (negative effects allowed), so 1 is perfect and 0 random;
* uplift@k: conversion rate of treated minus control among the top ``k`` share (``overall``
  strategy: the top k of everyone).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _cumulative(y: np.ndarray, t: np.ndarray, uplift: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.argsort(uplift, kind="mergesort")[::-1]
    y, t, u = y[order], t[order], uplift[order]
    # cut only where the score changes, as scikit-uplift does
    cuts = np.r_[np.where(np.diff(u))[0], len(u) - 1]
    n_t = np.cumsum(t)[cuts]
    n_c = np.cumsum(1 - t)[cuts]
    y_t = np.cumsum(y * t)[cuts]
    y_c = np.cumsum(y * (1 - t))[cuts]
    return cuts + 1, n_t, n_c, y_t, y_c


def _qini_values(n_t: np.ndarray, n_c: np.ndarray, y_t: np.ndarray, y_c: np.ndarray) -> np.ndarray:
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t, dtype=float), where=n_c > 0)
    return y_t - y_c * ratio


def _uplift_values(
    n_t: np.ndarray, n_c: np.ndarray, y_t: np.ndarray, y_c: np.ndarray
) -> np.ndarray:
    rate_t = np.divide(y_t, n_t, out=np.zeros_like(y_t, dtype=float), where=n_t > 0)
    rate_c = np.divide(y_c, n_c, out=np.zeros_like(y_c, dtype=float), where=n_c > 0)
    return (rate_t - rate_c) * (n_t + n_c)


Curve = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def curve(
    y: np.ndarray, t: np.ndarray, uplift: np.ndarray, kind: str = "qini"
) -> tuple[np.ndarray, np.ndarray]:
    """(x = customers targeted, curve value), starting at (0, 0)."""
    y, t, uplift = (np.asarray(a, dtype=float) for a in (y, t, uplift))
    x, n_t, n_c, y_t, y_c = _cumulative(y, t, uplift)
    values = (_qini_values if kind == "qini" else _uplift_values)(n_t, n_c, y_t, y_c)
    return np.r_[0, x], np.r_[0.0, values]


def _perfect_scores(y: np.ndarray, t: np.ndarray, kind: str) -> np.ndarray:
    """An ordering that puts the best customers first (scikit-uplift's perfect curves)."""
    if kind == "qini":
        return y * t - y * (1 - t)
    control_responders = np.sum((y == 1) & (t == 0))
    treated_non_responders = np.sum((y == 0) & (t == 1))
    summand = y if control_responders > treated_non_responders else t
    return 2 * (y == t) + summand


def _normalised_area(y: np.ndarray, t: np.ndarray, uplift: np.ndarray, kind: str) -> float:
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    x, v = curve(y, t, uplift, kind)
    px, pv = curve(y, t, _perfect_scores(y, t, kind), kind)
    random = pv[-1] * px[-1] / 2
    perfect = np.trapezoid(pv, px) - random
    return float((np.trapezoid(v, x) - random) / perfect) if perfect else 0.0


def qini_coefficient(y: np.ndarray, t: np.ndarray, uplift: np.ndarray) -> float:
    """Normalised area under the Qini curve (scikit-uplift ``qini_auc_score``)."""
    return _normalised_area(y, t, uplift, "qini")


def auuc(y: np.ndarray, t: np.ndarray, uplift: np.ndarray) -> float:
    """Normalised area under the uplift curve (scikit-uplift ``uplift_auc_score``)."""
    return _normalised_area(y, t, uplift, "uplift")


def uplift_at_k(y: np.ndarray, t: np.ndarray, uplift: np.ndarray, k: float = 0.3) -> float:
    """Treated minus control outcome rate among the top ``k`` share by predicted uplift."""
    y, t, uplift = (np.asarray(a, dtype=float) for a in (y, t, uplift))
    n = max(1, int(len(uplift) * k))
    top = np.argsort(uplift, kind="mergesort")[::-1][:n]
    treated, control = top[t[top] == 1], top[t[top] == 0]
    if len(treated) == 0 or len(control) == 0:
        return float("nan")
    return float(y[treated].mean() - y[control].mean())
