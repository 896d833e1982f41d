"""Percentiles of durations, defined once so every figure in a report means the same thing.

Definition (nearest rank): the p-th percentile of n values, 0 < p <= 100, is the value at rank
ceil(p/100 * n) in ascending order (ranks start at 1). It is always one of the observed values;
at least p% of the values are at or below it, and it is the smallest value for which that holds.
The median is the 50th percentile by that definition: for an even count, the lower of the two
middle values (no averaging, so "median 2 h" is a time some hotfix really took).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank p-th percentile of `values`; None when there are none."""
    if not 0 < p <= 100:
        raise ValueError(f"a percentile is above 0 and at most 100, not {p}")
    if not values:
        return None
    ordered = sorted(values)
    # p/100 * n computed as p * n / 100 in integers where possible, so 90% of 10 is exactly 9.
    rank = math.ceil(p * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def duration_percentile(durations: Sequence[timedelta], p: float) -> timedelta | None:
    found = percentile([d.total_seconds() for d in durations], p)
    return None if found is None else timedelta(seconds=found)
