from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.errors import InvalidInput
from commands.versions import (
    Version,
    check_hotfix_tag,
    display,
    is_version,
    suggest_hotfix_tag,
)

parts = st.integers(min_value=0, max_value=10_000)
versions = st.builds(Version, parts, parts, parts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.7.0", Version(1, 7, 0)), ("v2.0.10", Version(2, 0, 10)), (" 0.3.1 ", Version(0, 3, 1))],
)
def test_parse_accepts_tags(text: str, expected: Version) -> None:
    assert Version.parse(text) == expected


@pytest.mark.parametrize("text", ["", "1.7", "1.7.0.1", "1.07.0", "a.b.c", "1.7.-1", "1.7.0+"])
def test_parse_refuses_what_is_not_a_tag(text: str) -> None:
    with pytest.raises(InvalidInput, match="MAJOR.MINOR.PATCH"):
        Version.parse(text)
    assert not is_version(text)


def test_display_marks_untagged_changes_with_plus() -> None:
    assert display("1.7.0", True) == "1.7.0+"
    assert display("1.7.0", False) == "1.7.0"


def test_suggestion_is_next_patch_of_production() -> None:
    assert suggest_hotfix_tag(Version(1, 7, 0), []) == Version(1, 7, 1)


def test_suggestion_skips_tags_used_before() -> None:
    used = [Version(1, 7, 1), Version(1, 7, 2), Version(1, 8, 0)]
    assert suggest_hotfix_tag(Version(1, 7, 0), used) == Version(1, 7, 3)


def test_explicit_tag_must_be_above_production_and_unused() -> None:
    with pytest.raises(InvalidInput, match="not above Production's 1.7.0"):
        check_hotfix_tag(Version(1, 7, 0), Version(1, 7, 0), [])
    with pytest.raises(InvalidInput, match="was tagged before"):
        check_hotfix_tag(Version(1, 7, 2), Version(1, 7, 0), [Version(1, 7, 2)])
    check_hotfix_tag(Version(1, 8, 0), Version(1, 7, 0), [])


@given(versions)
def test_format_and_parse_round_trip(version: Version) -> None:
    assert Version.parse(str(version)) == version


@given(versions, st.lists(versions, max_size=30))
def test_suggestion_is_above_production_unused_and_accepted(
    production: Version, used: list[Version]
) -> None:
    suggestion = suggest_hotfix_tag(production, used)
    assert suggestion > production
    assert suggestion not in used
    assert (suggestion.major, suggestion.minor) == (production.major, production.minor)
    check_hotfix_tag(suggestion, production, used)


@given(versions, versions)
def test_ordering_is_numeric_not_textual(a: Version, b: Version) -> None:
    assert (a < b) == ((a.major, a.minor, a.patch) < (b.major, b.minor, b.patch))
