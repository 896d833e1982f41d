"""How hotfixes go over time: counts, times to Production and to solved, skips, the oldest red.

Counted over the hotfixes *opened* in the window (the last N days up to now): a hotfix opened in
the window is followed to wherever it got, even if it was deployed or solved after a cutoff a
person would not think about. Red hotfixes are what is red now, whenever they were opened.
Percentiles follow `commands.statistics` (nearest rank).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from commands.context import ServiceContext
from commands.errors import InvalidInput
from commands.hotfixes import find_application
from commands.lifecycle import HotfixState
from commands.refs import format_hotfix_ref
from commands.report_results import Figures, HotfixReport, RedHotfix, SkippedItem, WeekPoint
from commands.statistics import duration_percentile
from storage.models import Hotfix

DEFAULT_DAYS = 90
MAX_DAYS = 730


@dataclass(frozen=True)
class HotfixTimes:
    """One hotfix reduced to what the report needs."""

    ref: str
    application: str
    state: HotfixState
    opened_at: datetime
    deployed_at: datetime | None
    closed_at: datetime | None

    @property
    def to_production(self) -> timedelta | None:
        return self.deployed_at - self.opened_at if self.deployed_at else None

    @property
    def production_to_solved(self) -> timedelta | None:
        if self.state is not HotfixState.SOLVED or not self.deployed_at or not self.closed_at:
            return None
        return self.closed_at - self.deployed_at

    @property
    def to_solved(self) -> timedelta | None:
        if self.state is not HotfixState.SOLVED or not self.closed_at:
            return None
        return self.closed_at - self.opened_at


Item = TypeVar("Item", "HotfixTimes", "SkippedItem", "RedHotfix")


def parse_days(text: str | int | None) -> int:
    """`--days N`: a whole number of days, 1 to MAX_DAYS; the default when not given."""
    if text is None or text == "":
        return DEFAULT_DAYS
    try:
        days = int(str(text).strip())
    except ValueError:
        raise InvalidInput(f"'{text}' is not a number of days: use e.g. --days 30") from None
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"--days must be between 1 and {MAX_DAYS}, not {days}")
    return days


def hotfix_report(
    ctx: ServiceContext, application: str | None = None, days: str | int | None = None
) -> HotfixReport:
    window = parse_days(days)
    until = ctx.now()
    since = until - timedelta(days=window)
    with ctx.db.read() as repository:
        app_id = None
        if application:
            app = find_application(repository, application)
            app_id, application = app.id, app.name
        rows = repository.hotfixes_opened_between(since, until, app_id)
        if app_id is not None:
            active = repository.active_hotfix(app_id)
            red_rows = [active] if active is not None else []
        else:
            red_rows = repository.active_hotfixes()
        names = {
            key: app.name
            for key, app in repository.applications_by_ids(
                row.application_id for row in [*rows, *red_rows]
            ).items()
        }
        skipped_rows = repository.skipped_items(row.id for row in rows if row.id is not None)
    times = [_times(row, names) for row in rows]
    by_id = {row.id: times[i] for i, row in enumerate(rows)}
    skipped = [
        SkippedItem(by_id[h].ref, by_id[h].application, environment, module, reason)
        for h, environment, module, reason in skipped_rows
    ]
    red = [
        RedHotfix(
            format_hotfix_ref(row.id or 0),
            names[row.application_id],
            row.summary,
            HotfixState(row.state),
            _utc(row.opened_at),
        )
        for row in red_rows
    ]
    per_application = tuple(
        (name, figures(_of(times, name), _of(skipped, name), _of(red, name)))
        for name in sorted(
            {t.application for t in times} | {r.application for r in red}, key=str.casefold
        )
    )
    return HotfixReport(
        application=application,
        days=window,
        since=since,
        until=until,
        overall=figures(times, skipped, red),
        applications=per_application,
        weeks=weekly(times, since, until),
    )


def figures(
    times: Sequence[HotfixTimes], skipped: Sequence[SkippedItem], red: Sequence[RedHotfix]
) -> Figures:
    to_production = [d for t in times if (d := t.to_production) is not None]
    to_solved = [d for t in times if (d := t.production_to_solved) is not None]
    oldest = min(red, key=lambda r: (r.opened_at, r.ref), default=None)
    return Figures(
        opened=len(times),
        deployed=len(to_production),
        solved=len(to_solved),
        to_production_median=duration_percentile(to_production, 50),
        to_production_p90=duration_percentile(to_production, 90),
        production_to_solved_median=duration_percentile(to_solved, 50),
        production_to_solved_p90=duration_percentile(to_solved, 90),
        skipped=tuple(skipped),
        oldest_red=oldest,
    )


def weekly(times: Iterable[HotfixTimes], since: datetime, until: datetime) -> tuple[WeekPoint, ...]:
    """Seven-day buckets counted back from `until`; the earliest starts at `since` (it may be
    shorter), so the bars add up to the hotfixes opened in the window."""
    count = max(1, math.ceil((until - since) / timedelta(days=7)))
    bounds = [max(since, until - timedelta(days=7 * i)) for i in range(count, -1, -1)]
    listed = list(times)
    points = []
    for start, end in itertools.pairwise(bounds):
        opened = [t for t in listed if start <= t.opened_at < end]
        solved = [d for t in opened if (d := t.to_solved) is not None]
        points.append(WeekPoint(start, end, len(opened), duration_percentile(solved, 50)))
    return tuple(points)


def _times(row: Hotfix, names: dict[int, str]) -> HotfixTimes:
    return HotfixTimes(
        ref=format_hotfix_ref(row.id or 0),
        application=names[row.application_id],
        state=HotfixState(row.state),
        opened_at=_utc(row.opened_at),
        deployed_at=_utc(row.deployed_at) if row.deployed_at else None,
        closed_at=_utc(row.closed_at) if row.closed_at else None,
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL hands back aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _of(items: Iterable[Item], application: str) -> list[Item]:
    return [item for item in items if item.application == application]
