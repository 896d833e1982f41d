"""Version tags (MAJOR.MINOR.PATCH) and the Tag & Deploy suggestion."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from commands.errors import InvalidInput

_TAG = re.compile(r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        cleaned = text.strip()
        if cleaned[:1] in ("v", "V"):
            cleaned = cleaned[1:]
        match = _TAG.match(cleaned)
        if not match:
            raise InvalidInput(
                f"'{text}' is not a version: use MAJOR.MINOR.PATCH with whole numbers, e.g. 1.7.1"
            )
        major, minor, patch = (int(group) for group in match.groups())
        return cls(major, minor, patch)

    def next_patch(self) -> Version:
        return Version(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def is_version(text: str) -> bool:
    try:
        Version.parse(text)
    except InvalidInput:
        return False
    return True


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
