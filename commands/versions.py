"""Application versions (MAJOR.MINOR or MAJOR.MINOR.REVISION) and the Tag & Deploy suggestion.

LifeTime tags applications with two or three numbers (`0.3`, `1.7`, `1.7.1`): after `0.3` it
suggests `0.3.1`, "tagged with a third number". A missing third number is 0 when comparing
(`1.7` == `1.7.0`), but a version is always shown as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from commands.errors import InvalidInput

_NUMBER = r"(0|[1-9]\d{0,8})"
_TAG = re.compile(rf"^{_NUMBER}\.{_NUMBER}(?:\.{_NUMBER})?$")
_FORMAT = "use MAJOR.MINOR or MAJOR.MINOR.REVISION with whole numbers, e.g. 1.7 or 1.7.1"


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0
    # How the version was written; not compared, so `1.7` and `1.7.0` are one version.
    written: str = field(default="", compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Version:
        cleaned = text.strip()
        if cleaned[:1] in ("v", "V"):
            cleaned = cleaned[1:]
        match = _TAG.match(cleaned)
        if not match:
            raise InvalidInput(f"'{text}' is not a version: {_FORMAT}")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0), cleaned)

    def next_patch(self) -> Version:
        """The next revision: `1.7` -> `1.7.1`, `1.7.1` -> `1.7.2` (always three numbers)."""
        return Version(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return self.written or f"{self.major}.{self.minor}.{self.patch}"


def is_version(text: str) -> bool:
    try:
        Version.parse(text)
    except InvalidInput:
        return False
    return True


def same_version(a: str, b: str) -> bool:
    """Whether two written versions are the same (`1.7` and `1.7.0` are); both must be readable."""
    return Version.parse(a) == Version.parse(b)


def display(tag: str, has_changes: bool) -> str:
    """How a person sees an environment's version: `1.7.0+` when it carries untagged changes."""
    return f"{tag}+" if has_changes else tag


def suggest_hotfix_tag(production: Version, used: Iterable[Version]) -> Version:
    """The next patch above Production's tag that the application has never used."""
    used_set = set(used)
    candidate = production.next_patch()
    while candidate in used_set:
        candidate = candidate.next_patch()
    return candidate


def check_hotfix_tag(requested: Version, production: Version, used: Iterable[Version]) -> None:
    """Refuse an explicit Tag & Deploy version that is not above Production's or was used."""
    if requested <= production:
        raise InvalidInput(
            f"{requested} is not above Production's {production}: "
            f"a hotfix tag must be higher, e.g. {suggest_hotfix_tag(production, used)}"
        )
    if requested in set(used):
        raise InvalidInput(
            f"{requested} was tagged before for this application: "
            f"pick an unused version, e.g. {suggest_hotfix_tag(production, used)}"
        )
