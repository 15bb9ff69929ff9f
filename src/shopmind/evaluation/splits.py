"""Train / validation / test splits of interaction sequences.

- ``loo`` (leave-one-out, Kang & McAuley 2018): each sequence's last item is its test
  target, the one before its validation target. Models are tuned on
  ``(tune_data = seq[:-2], validation)`` and the chosen setting refit on
  ``fit_data = seq[:-1]`` before the test.
- ``temporal``: one global cutoff ``test_days`` before the newest event. Test targets are
  the distinct items each known key touched after the cutoff; validation repeats the same
  cut ``test_days`` earlier inside the training period.
Test targets are never seen by tuning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shopmind.errors import RecommendError
from shopmind.evaluation.ranking import Cases
from shopmind.features.sequences import Sequences


@dataclass
class Split:
    name: str
    tune_data: Sequences
    validation: Cases
    fit_data: Sequences
    test: Cases


def loo_split(data: Sequences, min_length: int = 3) -> Split:
    lengths = data.lengths()
    seqs = data.histories()
    times = [data.times[data.indptr[i] : data.indptr[i + 1]] for i in range(data.n_keys)]
    eligible = np.flatnonzero(lengths >= min_length)
    if len(eligible) == 0:
        raise RecommendError(
            f"No sequence has {min_length} or more items: leave-one-out needs them.",
            hint="Use --split temporal, or ingest longer histories.",
        )

    def cut(n: int) -> Sequences:
        keep = [s[:-n] if lengths[i] >= min_length else s for i, s in enumerate(seqs)]
        keep_t = [t[:-n] if lengths[i] >= min_length else t for i, t in enumerate(times)]
        return data.subset(keep, keep_t)

    validation = Cases(
        [seqs[i][:-2] for i in eligible],
        eligible.astype(np.int64),
        [seqs[i][-2:-1] for i in eligible],
    )
    test = Cases(
        [seqs[i][:-1] for i in eligible],
        eligible.astype(np.int64),
        [seqs[i][-1:] for i in eligible],
    )
    return Split("loo", cut(2), validation, cut(1), test)


def session_split(data: Sequences, share: float = 0.1) -> Split:
    """Anonymous sessions: the newest ``share`` of sessions are test, the ``share`` before
    them validation; every prefix of a held-out session predicts its next item (the
    SR-GNN / GCE-GNN protocol). Models are tuned on the oldest sessions, refit on all but
    the test sessions."""
    lengths = data.lengths()
    first = np.minimum(data.indptr[:-1], max(len(data.times) - 1, 0))
    starts = np.where(lengths > 0, data.times[first], np.iinfo(np.int64).max)
    order = np.argsort(starts, kind="stable")
    n_hold = max(1, round(share * data.n_keys))
    if data.n_keys < 3 * n_hold:
        raise RecommendError(
            "Too few sessions to hold out validation and test sessions.",
            hint="Ingest more sessions.",
        )
    test_keys, valid_keys = order[-n_hold:], order[-2 * n_hold : -n_hold]
    empty = np.zeros(0, dtype=np.int32)

    def keep(drop: np.ndarray) -> Sequences:
        dropped = np.zeros(data.n_keys, dtype=bool)
        dropped[drop] = True
        seqs = [empty if dropped[i] else data.seq(i) for i in range(data.n_keys)]
        times = [
            data.times[data.indptr[i] : data.indptr[i + 1]][: len(seqs[i])]
            for i in range(data.n_keys)
        ]
        return data.subset(seqs, times)

    def prefixes(keys: np.ndarray) -> Cases:
        histories, targets = [], []
        for key in keys:
            seq = data.seq(int(key))
            for cut in range(1, len(seq)):
                histories.append(seq[:cut])
                targets.append(seq[cut : cut + 1])
        return Cases(histories, np.full(len(histories), -1, dtype=np.int64), targets)

    return Split(
        "sessions",
        keep(np.concatenate([valid_keys, test_keys])),
        prefixes(valid_keys),
        keep(test_keys),
        prefixes(test_keys),
    )


def _cut_at(data: Sequences, cutoff: float, end: float, exclude_seen: bool) -> Any:
    before, before_t, cases_h, cases_k, cases_t = [], [], [], [], []
    for i in range(data.n_keys):
        items = data.seq(i)
        t = data.times[data.indptr[i] : data.indptr[i + 1]]
        early = t < cutoff
        before.append(items[early])
        before_t.append(t[early])
        later = items[(~early) & (t < end)]
        if not early.any() or len(later) == 0:
            continue
        targets = np.unique(later)
        if exclude_seen:
            targets = targets[~np.isin(targets, items[early])]
        if len(targets):
            cases_h.append(items[early])
            cases_k.append(i)
            cases_t.append(targets)
    return data.subset(before, before_t), Cases(cases_h, np.array(cases_k, np.int64), cases_t)


def temporal_split(data: Sequences, test_days: float = 30.0, exclude_seen: bool = True) -> Split:
    newest = float(data.times.max())
    span = test_days * 86_400.0
    fit_data, test = _cut_at(data, newest - span, newest + 1, exclude_seen)
    tune_data, validation = _cut_at(fit_data, newest - 2 * span, newest - span, exclude_seen)
    if len(test) == 0 or len(validation) == 0:
        raise RecommendError(
            f"A {test_days:g}-day temporal split leaves no test or validation cases.",
            hint="Use a shorter --test-days or --split loo.",
        )
    return Split("temporal", tune_data, validation, fit_data, test)


def make_split(
    data: Sequences, kind: str, test_days: float = 30.0, exclude_seen: bool = True
) -> Split:
    if kind == "loo":
        return session_split(data) if data.kind == "sessions" else loo_split(data)
    if kind == "temporal":
        return temporal_split(data, test_days, exclude_seen)
    raise RecommendError(f"Unknown split '{kind}'.", hint="Use --split loo or --split temporal.")


def subsample(cases: Cases, limit: int | None, seed: int = 0) -> Cases:
    """At most ``limit`` cases, drawn without replacement (validation speed on big data)."""
    if limit is None or len(cases) <= limit:
        return cases
    rows = np.sort(np.random.default_rng(seed).choice(len(cases), size=limit, replace=False))
    return cases.take(rows)
