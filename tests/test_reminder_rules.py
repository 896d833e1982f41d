from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.durations import format_duration, parse_duration
from commands.errors import InvalidInput
from commands.lifecycle import HotfixState
from commands.refs import Severity
from commands.reminder_rules import ReminderPolicy, WorkingHours, plan_delivery, zone_of

THURSDAY_NOON_UTC = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("4h", 14400), ("1d", 86400), ("1h30m", 5400), ("90s", 90), ("2H", 7200)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "4", "h", "4 hours", "-1h", "31d", "1w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=30 * 86400))
def test_duration_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


def test_cadence_per_step_and_overrides() -> None:
    policy = ReminderPolicy()
    assert policy.every(HotfixState.OPEN, {}) == timedelta(minutes=30)
    assert policy.every(HotfixState.AWAITING_APPROVAL, {}) == timedelta(minutes=15)
    assert policy.every(HotfixState.PROPAGATING, {}) == timedelta(hours=4)
    assert policy.every(HotfixState.PROPAGATING, {"propagating": 7200}) == timedelta(hours=2)


def test_policy_from_settings_names_the_bad_variable() -> None:
    policy = ReminderPolicy.from_settings(
        {"REMINDER_OPEN_EVERY": "10m", "ESCALATE_AFTER": "12h", "WORKING_DAYS": "Sun-Thu"}
    )
    assert policy.open_every == timedelta(minutes=10)
    assert policy.escalate_after_red == timedelta(hours=12)
    assert policy.working_hours.weekdays == {6, 0, 1, 2, 3}
    with pytest.raises(InvalidInput, match="REMINDER_PROPAGATING_EVERY is malformed"):
        ReminderPolicy.from_settings({"REMINDER_PROPAGATING_EVERY": "soon"})
    with pytest.raises(InvalidInput, match="ESCALATE_AFTER_NUDGES is malformed"):
        ReminderPolicy.from_settings({"ESCALATE_AFTER_NUDGES": "0"})
    with pytest.raises(InvalidInput, match="end before they start"):
        ReminderPolicy.from_settings({"WORKING_HOURS": "18:00-09:00"})


def test_escalation_after_nudges_or_time_red() -> None:
    policy = ReminderPolicy()
    assert not policy.should_escalate(2, timedelta(hours=23))
    assert policy.should_escalate(3, timedelta(minutes=1))
    assert policy.should_escalate(0, timedelta(hours=24))


def test_quiet_hours_across_time_zones() -> None:
    hours = WorkingHours()
    lisbon, tokyo, la = (
        ZoneInfo("Europe/Lisbon"),
        ZoneInfo("Asia/Tokyo"),
        ZoneInfo("America/Los_Angeles"),
    )
    # Thursday 12:00 UTC: 12:00 in Lisbon, 21:00 in Tokyo, 04:00 in Los Angeles.
    assert hours.contains(THURSDAY_NOON_UTC, lisbon)
    assert not hours.contains(THURSDAY_NOON_UTC, tokyo)
    assert not hours.contains(THURSDAY_NOON_UTC, la)
    assert hours.next_start(THURSDAY_NOON_UTC, tokyo) == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert hours.next_start(THURSDAY_NOON_UTC, la) == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    assert hours.next_start(friday_night, lisbon) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_plan_delivery_defers_only_low_severities() -> None:
    zones = {"U0ANA": zone_of("Europe/Lisbon"), "U0KEN": zone_of("Asia/Tokyo")}
    recipients = ("U0ANA", "U0KEN")
    hours = WorkingHours()
    medium = plan_delivery(recipients, Severity.MEDIUM, zones, THURSDAY_NOON_UTC, hours)
    assert medium.now == ("U0ANA",)
    assert medium.later == {"U0KEN": datetime(2026, 11, 27, 0, 0, tzinfo=UTC)}
    critical = plan_delivery(recipients, Severity.CRITICAL, zones, THURSDAY_NOON_UTC, hours)
    assert critical.now == recipients and critical.later == {}


def test_unknown_zone_is_utc() -> None:
    assert zone_of("Mars/Olympus") == ZoneInfo("UTC")
    assert zone_of(None) == ZoneInfo("UTC")


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(["UTC", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Apia"]),
)
def test_next_start_is_inside_working_hours_and_not_before(moment: datetime, zone: str) -> None:
    hours = WorkingHours()
    start = hours.next_start(moment, ZoneInfo(zone))
    assert start >= moment
    assert hours.contains(start, ZoneInfo(zone))
    assert start - moment <= timedelta(days=3, hours=15)


def test_every_malformed_reminder_setting_is_named_at_once() -> None:
    with pytest.raises(InvalidInput) as raised:
        ReminderPolicy.from_settings(
            {"WORKING_HOURS": "9 to 5", "WORKING_DAYS": "weekdays", "ESCALATE_AFTER": "later"}
        )
    message = raised.value.message
    assert "WORKING_HOURS is malformed: '9 to 5'" in message
    assert "WORKING_DAYS is malformed: 'weekdays'" in message
    assert "ESCALATE_AFTER is malformed: 'later'" in message
