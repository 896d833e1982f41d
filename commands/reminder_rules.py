"""When owners are nudged: cadence per step, escalation, quiet hours. Plain functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.durations import parse_duration
from commands.errors import InvalidInput
from commands.lifecycle import HotfixState
from commands.refs import Severity

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday..Friday

    @classmethod
    def parse(cls, hours: str, days: str) -> WorkingHours:
        try:
            start_text, end_text = hours.split("-")
            start, end = (
                time.fromisoformat(start_text.strip()),
                time.fromisoformat(end_text.strip()),
            )
        except ValueError as error:
            raise InvalidInput(
                f"'{hours}' is not a working-hours range like 09:00-18:00"
            ) from error
        if start >= end:
            raise InvalidInput(f"working hours '{hours}' end before they start")
        return cls(start, end, _parse_days(days))

    def contains(self, moment: datetime, zone: tzinfo) -> bool:
        local = moment.astimezone(zone)
        return local.weekday() in self.weekdays and self.start <= local.time() < self.end

    def next_start(self, moment: datetime, zone: tzinfo) -> datetime:
        """The first moment at or after `moment` inside working hours, in UTC."""
        local = moment.astimezone(zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            candidate = datetime.combine(day, self.start, tzinfo=zone)
            if day.weekday() not in self.weekdays:
                continue
            if offset == 0 and self.contains(moment, zone):
                return moment
            if candidate >= local:
                return candidate.astimezone(moment.tzinfo)
        raise InvalidInput("working hours have no working day")


def _parse_days(text: str) -> frozenset[int]:
    key = text.strip().casefold()
    if "-" in key:
        first, last = (part.strip()[:3] for part in key.split("-"))
        if first not in DAYS or last not in DAYS:
            raise InvalidInput(f"'{text}' is not a range of days like Mon-Fri")
        a, b = DAYS.index(first), DAYS.index(last)
        return frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(b + 1)])
    days = [part.strip()[:3] for part in key.split(",") if part.strip()]
    if not days or any(day not in DAYS for day in days):
        raise InvalidInput(f"'{text}' is not a list of days like Mon,Tue,Wed")
    return frozenset(DAYS.index(day) for day in days)


@dataclass(frozen=True)
class ReminderPolicy:
    open_every: timedelta = timedelta(minutes=30)
    approval_every: timedelta = timedelta(minutes=15)
    propagating_every: timedelta = timedelta(hours=4)
    escalate_after_nudges: int = 3
    escalate_after_red: timedelta = timedelta(hours=24)
    working_hours: WorkingHours = field(default_factory=WorkingHours)

    @classmethod
    def from_settings(cls, env: Mapping[str, str]) -> ReminderPolicy:
        """Every malformed variable is named in one error, so one start-up shows them all."""
        problems: list[str] = []

        def duration(name: str, default: timedelta) -> timedelta:
            value = env.get(name, "").strip()
            if not value:
                return default
            try:
                return parse_duration(value)
            except InvalidInput as error:
                problems.append(f"{name} is malformed: {error.message}")
                return default

        nudges = env.get("ESCALATE_AFTER_NUDGES", "").strip() or "3"
        if not nudges.isdigit() or int(nudges) < 1:
            problems.append(f"ESCALATE_AFTER_NUDGES is malformed: '{nudges}' (a whole number)")
        hours_text = env.get("WORKING_HOURS", "").strip() or "09:00-18:00"
        days_text = env.get("WORKING_DAYS", "").strip() or "Mon-Fri"
        working_hours = WorkingHours()
        try:
            working_hours = WorkingHours.parse(hours_text, "Mon-Fri")
        except InvalidInput as error:
            problems.append(f"WORKING_HOURS is malformed: {error.message}")
        try:
            weekdays = _parse_days(days_text)
        except InvalidInput as error:
            problems.append(f"WORKING_DAYS is malformed: {error.message}")
        else:
            working_hours = replace(working_hours, weekdays=weekdays)
        policy = cls(
            open_every=duration("REMINDER_OPEN_EVERY", cls.open_every),
            approval_every=duration("REMINDER_APPROVAL_EVERY", cls.approval_every),
            propagating_every=duration("REMINDER_PROPAGATING_EVERY", cls.propagating_every),
            escalate_after_nudges=int(nudges) if nudges.isdigit() else 3,
            escalate_after_red=duration("ESCALATE_AFTER", cls.escalate_after_red),
            working_hours=working_hours,
        )
        if problems:
            raise InvalidInput("; ".join(problems))
        return policy

    def every(self, state: HotfixState, overrides: Mapping[str, int | None]) -> timedelta:
        """The cadence of a step: the application's override, else the global one."""
        override = overrides.get(state.value)
        if override:
            return timedelta(seconds=override)
        if state is HotfixState.AWAITING_APPROVAL:
            return self.approval_every
        if state is HotfixState.PROPAGATING:
            return self.propagating_every
        return self.open_every

    def should_escalate(self, unanswered: int, red_for: timedelta) -> bool:
        return unanswered >= self.escalate_after_nudges or red_for >= self.escalate_after_red


def zone_of(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class DeliveryPlan:
    now: tuple[str, ...]  # recipients to nudge now
    later: dict[str, datetime]  # recipients in quiet hours, and when their hours start


def plan_delivery(
    recipients: tuple[str, ...],
    severity: Severity,
    zones: Mapping[str, tzinfo],
    moment: datetime,
    hours: WorkingHours,
) -> DeliveryPlan:
    """Critical and high go out at once; medium and low wait for each person's working hours."""
    if severity.ignores_quiet_hours:
        return DeliveryPlan(recipients, {})
    now: list[str] = []
    later: dict[str, datetime] = {}
    for user in recipients:
        zone = zones.get(user) or zone_of(None)
        if hours.contains(moment, zone):
            now.append(user)
        else:
            later[user] = hours.next_start(moment, zone)
    return DeliveryPlan(tuple(now), later)
