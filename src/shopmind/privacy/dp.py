"""Differentially private aggregates built with OpenDP (pure: no workspace, no store).

Privacy unit: one user. The input of every release is a list of per-user records (exactly
one record per user, so adding or removing a user changes the input by 1 under OpenDP's
``symmetric_distance``). A :class:`Query` maps the records to a vector of aggregates and
states its L1 sensitivity per user: how much one user's record can move the vector in total
(the contribution bound, e.g. 1 for counts over a partition, ``max(|lower|, |upper|)`` for
sums of values clamped to ``[lower, upper]``). OpenDP turns that into a transformation
(``make_user_transformation``, stability map ``d_in -> d_in * sensitivity``), adds Laplace
noise (``then_laplace``: discrete Laplace for integer counts, OpenDP's float Laplace
sampler for sums), composes the queries of one release (``make_composition``, basic
composition) and gives its epsilon (``measurement.map(1)``).

Laplace scale b = sensitivity / epsilon (Dwork et al. 2006); the noise has standard
deviation sqrt(2) b and mean absolute error b; delta = 0 (pure epsilon-DP).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import opendp.combinators as odc
import opendp.domains as odd
import opendp.measurements as odm
import opendp.metrics as odmet
import opendp.transformations as odt
from opendp.mod import enable_features

from shopmind.errors import ShopmindError

#: Epsilon compared with a tolerance: OpenDP rounds its privacy maps up.
EPSILON_SLACK = 1e-9


class DPError(ShopmindError):
    """A differentially private release cannot be made as asked."""


def enable() -> None:
    """Turn on the OpenDP features used here. ``honest-but-curious`` is needed for our own
    per-user transformations: their stability maps are the contribution bounds stated in
    each :class:`Query` (a test checks them against neighbouring datasets)."""
    enable_features("contrib", "honest-but-curious")


def laplace_scale(epsilon: float, sensitivity: float) -> float:
    """Laplace scale b = sensitivity / epsilon for an epsilon-DP release."""
    check_epsilon(epsilon)
    if not sensitivity > 0 or not math.isfinite(sensitivity):
        raise DPError(f"Sensitivity must be a positive number, got {sensitivity}.")
    return sensitivity / epsilon


#: Accepted epsilon of one release. Below 0.001 the noise scale is over a thousand times the
#: sensitivity (1e-300 overflowed the counts); far above 10 the noise is negligible (practice
#: stays near 0.1 .. 10; tests use 2,000 to get exact counts back).
MIN_EPSILON, MAX_EPSILON = 1e-3, 1e4


def check_epsilon(epsilon: float) -> None:
    """Refuse an epsilon outside ``[MIN_EPSILON, MAX_EPSILON]`` (or not a number)."""
    if not (MIN_EPSILON <= epsilon <= MAX_EPSILON):
        raise DPError(
            f"Epsilon must be between {MIN_EPSILON:g} and {MAX_EPSILON:g}, got {epsilon}.",
            hint="Pass e.g. --epsilon 1 (smaller = more private, noisier).",
        )


def clamp(value: float, lower: float, upper: float) -> float:
    """``value`` bounded to ``[lower, upper]`` (the per-user contribution bound of a sum)."""
    return min(max(float(value), lower), upper)


@dataclass(frozen=True)
class Query:
    """One vector of aggregates over per-user records.

    ``function(records) -> list`` must change by at most ``sensitivity`` in L1 norm when
    one record is added or removed; ``integer`` picks integer counts (discrete Laplace)
    over float sums. ``keys`` name the vector's entries (public: never taken from data).
    """

    name: str
    keys: tuple[str, ...]
    function: Callable[[Sequence[Any]], list[Any]]
    sensitivity: float
    integer: bool = True


@dataclass(frozen=True)
class Plan:
    """A composed release: one OpenDP measurement over the per-user records."""

    queries: tuple[Query, ...]
    scales: tuple[float, ...]
    epsilon: float
    measurement: Any = field(repr=False)

    def invoke(self, records: Sequence[Any]) -> dict[str, list[float]]:
        """Run the measurement once: ``{query name: noisy values}`` (fresh noise each call)."""
        out = self.measurement(list(records))
        return {
            q.name: [float(v) for v in values] for q, values in zip(self.queries, out, strict=True)
        }

    def describe(self) -> dict[str, dict[str, Any]]:
        """Per query: mechanism, L1 sensitivity, noise scale, epsilon share."""
        return {
            q.name: {
                "mechanism": "discrete Laplace" if q.integer else "Laplace",
                "sensitivity": q.sensitivity,
                "scale": scale,
                "epsilon": q.sensitivity / scale,
            }
            for q, scale in zip(self.queries, self.scales, strict=True)
        }


_RECORDS = "shopmind.per_user_records"


def _records_domain() -> Any:
    return odd.user_domain(_RECORDS, lambda x: isinstance(x, list))


def measurement(query: Query, scale: float) -> Any:
    """The OpenDP measurement ``records -> query(records) + Laplace(scale)``."""
    enable()
    atom = odd.atom_domain(T=int) if query.integer else odd.atom_domain(T=float, nan=False)
    metric = odmet.l1_distance(T=int) if query.integer else odmet.l1_distance(T=float)
    sensitivity = query.sensitivity

    def run(records: list[Any]) -> list[Any]:
        values = query.function(records)
        if len(values) != len(query.keys):
            raise DPError(f"Query {query.name} returned {len(values)} values.")
        return [int(v) for v in values] if query.integer else [float(v) for v in values]

    def stability(d_in: int) -> Any:
        d_out = d_in * sensitivity
        return math.ceil(d_out) if query.integer else float(d_out)

    transformation = odt.make_user_transformation(
        _records_domain(),
        odmet.symmetric_distance(),
        odd.vector_domain(atom),
        metric,
        run,
        stability,
    )
    return transformation >> odm.then_laplace(scale=scale)


def plan(queries: Sequence[Query], epsilon: float) -> Plan:
    """Split ``epsilon`` evenly over ``queries`` (basic composition) and build the measurement.

    Each query gets scale ``sensitivity / (epsilon / len(queries))``; the epsilon recorded is
    OpenDP's privacy map of the composition at one user (d_in = 1), never more than asked.
    """
    check_epsilon(epsilon)
    if not queries:
        raise DPError("A release needs at least one query.")
    share = epsilon / len(queries)
    scales = tuple(laplace_scale(share, q.sensitivity) for q in queries)
    parts = [measurement(q, s) for q, s in zip(queries, scales, strict=True)]
    composed = parts[0] if len(parts) == 1 else odc.make_composition(parts)
    spent = float(composed.map(1))
    if spent > epsilon * (1 + 1e-6) + EPSILON_SLACK:
        raise DPError(f"OpenDP accounts {spent} for a release planned at {epsilon}.")
    if len(parts) == 1:
        composed = odc.make_composition(parts)  # one output shape: a list per query
    return Plan(tuple(queries), scales, spent, composed)


# ---------------------------------------------------------------------------------------
# queries over common per-user records
# ---------------------------------------------------------------------------------------


def count_by_key(name: str, keys: Sequence[str], key_of: Callable[[Any], str]) -> Query:
    """Users per key; each user has one key (a partition): sensitivity 1. Records whose key
    is not in ``keys`` are dropped (the keys are public, never read from the data)."""
    keys = tuple(keys)
    index = {k: i for i, k in enumerate(keys)}

    def run(records: Sequence[Any]) -> list[int]:
        counts = [0] * len(keys)
        for record in records:
            i = index.get(key_of(record))
            if i is not None:
                counts[i] += 1
        return counts

    return Query(name, keys, run, 1.0, integer=True)


def clamped_sum_by_key(
    name: str,
    keys: Sequence[str],
    key_of: Callable[[Any], str],
    value_of: Callable[[Any], float],
    bounds: tuple[float, float],
) -> Query:
    """Sum per key of each user's value clamped to ``bounds``; each user has one key, so the
    sensitivity is ``max(|lower|, |upper|)``."""
    lower, upper = float(bounds[0]), float(bounds[1])
    if not lower <= upper:
        raise DPError(f"Clamping bounds [{lower}, {upper}] are empty.", hint="Give lower <= upper.")
    keys = tuple(keys)
    index = {k: i for i, k in enumerate(keys)}

    def run(records: Sequence[Any]) -> list[float]:
        sums = [0.0] * len(keys)
        for record in records:
            i = index.get(key_of(record))
            if i is not None:
                sums[i] += clamp(value_of(record), lower, upper)
        return sums

    return Query(name, keys, run, max(abs(lower), abs(upper)), integer=False)


def count_cells(
    name: str, keys: Sequence[str], cells_of: Callable[[Any], Sequence[str]], max_cells: int
) -> Query:
    """Users per cell where a user may be in several cells: each user's cells are cut to the
    first ``max_cells`` distinct ones, so the sensitivity is ``max_cells``."""
    if max_cells < 1:
        raise DPError(f"max_cells must be at least 1, got {max_cells}.")
    keys = tuple(keys)
    index = {k: i for i, k in enumerate(keys)}

    def run(records: Sequence[Any]) -> list[int]:
        counts = [0] * len(keys)
        for record in records:
            seen = list(dict.fromkeys(c for c in cells_of(record) if c in index))
            for cell in seen[:max_cells]:
                counts[index[cell]] += 1
        return counts

    return Query(name, keys, run, float(max_cells), integer=True)
