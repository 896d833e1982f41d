"""Percentiles and their formatting."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (50, 95, 99)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between closest ranks (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles(values: Sequence[float]) -> dict[int, float]:
    return {p: percentile(values, p) for p in PERCENTILES}


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    value = seconds * 1000
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def ratio(value: float, floor: float) -> str:
    if math.isnan(value) or math.isnan(floor) or floor <= 0:
        return "-"
    return f"{value / floor:.1f}x"
