"""What a report of how hotfixes go hands back: plain, immutable figures that views render.

Kept apart from `commands.report` (which reads the database) so that views and the CLI depend on
these values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.describe import describe_duration
from commands.lifecycle import HotfixState

MAX_LISTED_SKIPS = 5  # the count is exact; the reasons of the first few are shown


@dataclass(frozen=True)
class SkippedItem:
    hotfix: str
    application: str
    environment: str
    module: str
    reason: str


@dataclass(frozen=True)
class RedHotfix:
    ref: str
    application: str
    summary: str
    state: HotfixState
    opened_at: datetime


@dataclass(frozen=True)
class Figures:
    opened: int
    deployed: int  # reached Production
    solved: int
    to_production_median: timedelta | None
    to_production_p90: timedelta | None
    production_to_solved_median: timedelta | None
    production_to_solved_p90: timedelta | None
    skipped: tuple[SkippedItem, ...]
    oldest_red: RedHotfix | None


@dataclass(frozen=True)
class WeekPoint:
    """One bar of the chart: hotfixes opened in [start, end) and their median time to solve."""

    start: datetime
    end: datetime
    opened: int
    median_to_solve: timedelta | None


@dataclass(frozen=True)
class HotfixReport:
    application: str | None  # None: every application
    days: int
    since: datetime
    until: datetime
    overall: Figures
    applications: tuple[tuple[str, Figures], ...]
    weeks: tuple[WeekPoint, ...]


def describe_figures(figures: Figures, now: datetime) -> list[str]:
    """The figures as plain sentences (the Slack reply, App Home and the CLI all show these)."""
    lines = [
        f"Opened: {figures.opened} · reached Production: {figures.deployed} · "
        f"solved: {figures.solved}",
        _spread("Open → Production", figures.to_production_median, figures.to_production_p90),
        _spread(
            "Production → solved",
            figures.production_to_solved_median,
            figures.production_to_solved_p90,
        ),
    ]
    if figures.skipped:
        listed = [
            f"{item.hotfix} {item.environment}/{item.module}: {_clip(item.reason, 120)}"
            for item in figures.skipped[:MAX_LISTED_SKIPS]
        ]
        more = len(figures.skipped) - len(listed)
        if more:
            listed.append(f"and {more} more")
        lines.append(f"Skipped items: {len(figures.skipped)} ({'; '.join(listed)})")
    else:
        lines.append("Skipped items: none")
    red = figures.oldest_red
    if red is None:
        lines.append("Oldest red: nothing is red")
    else:
        age = describe_duration((now - red.opened_at).total_seconds())
        summary = _clip(red.summary, 120)
        lines.append(f"Oldest red: {red.ref} ({red.application}, {summary}), red for {age}")
    return lines


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _spread(label: str, median: timedelta | None, p90: timedelta | None) -> str:
    if median is None or p90 is None:
        return f"{label}: no hotfix yet"
    return (
        f"{label}: median {describe_duration(median.total_seconds())}, "
        f"90th percentile {describe_duration(p90.total_seconds())}"
    )
