"""Hotfix ids (`HF-12`) and severities, as people type them."""

from __future__ import annotations

import enum
import re

from commands.errors import InvalidInput

_REF = re.compile(r"^\s*(?:hf-?)?(\d{1,9})\s*$", re.IGNORECASE)


def parse_hotfix_ref(text: str) -> int:
    match = _REF.match(text)
    if not match:
        raise InvalidInput(f"'{text}' is not a hotfix id: hotfix ids look like HF-12")
    return int(match.group(1))


def format_hotfix_ref(hotfix_id: int) -> str:
    return f"HF-{hotfix_id}"


def looks_like_hotfix_ref(text: str) -> bool:
    return bool(re.match(r"^\s*hf-?\d{1,9}\s*$", text, re.IGNORECASE))


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @classmethod
    def parse(cls, text: str) -> Severity:
        key = text.strip().casefold()
        for severity in cls:
            if severity.value == key:
                return severity
        allowed = ", ".join(s.value for s in cls)
        raise InvalidInput(f"'{text}' is not a severity: use one of {allowed}")

    @property
    def ignores_quiet_hours(self) -> bool:
        return self in (Severity.CRITICAL, Severity.HIGH)
