"""Durations as people type them: `90s`, `30m`, `4h`, `1d`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

from commands.errors import InvalidInput

_PART = re.compile(r"(\d{1,6})\s*(d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d{1,6}\s*[dhms]\s*)+$", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str, *, least: timedelta = timedelta(seconds=1)) -> timedelta:
    if not _WHOLE.match(text or ""):
        raise InvalidInput(
            f"'{text}' is not a duration: use a number and a unit, like 30m, 4h or 1d"
        )
    seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(text))
    if seconds < least.total_seconds():
        raise InvalidInput(f"'{text}' is too short: at least {format_duration(least)}")
    if seconds > 30 * 86400:
        raise InvalidInput(f"'{text}' is too long: 30d at most")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The shortest way to write it back: `4h`, `1h30m`, `1d`."""
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
