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
    same_version,
    suggest_hotfix_tag,
)

parts = st.integers(min_value=0, max_value=10_000)
versions = st.builds(Version, parts, parts, parts)
# Versions as people and LifeTime write them: two numbers or three.
written = st.one_of(
    st.tuples(parts, parts).map(lambda p: f"{p[0]}.{p[1]}"),
    st.tuples(parts, parts, parts).map(lambda p: f"{p[0]}.{p[1]}.{p[2]}"),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.7.0", Version(1, 7, 0)),
        ("v2.0.10", Version(2, 0, 10)),
        (" 0.3.1 ", Version(0, 3, 1)),
        ("1.7", Version(1, 7, 0)),
        ("0.3", Version(0, 3, 0)),
    ],
)
def test_parse_accepts_two_and_three_numbers(text: str, expected: Version) -> None:
    assert Version.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "1", "1.7.0.1", "1.07.0", "a.b.c", "1.7.-1", "1.7.0+", "3.3.x", "1..7"]
)
def test_parse_refuses_what_is_not_a_version_and_names_it(text: str) -> None:
    with pytest.raises(InvalidInput, match="MAJOR.MINOR or MAJOR.MINOR.REVISION") as caught:
        Version.parse(text)
    assert f"'{text}'" in caught.value.message
    assert not is_version(text)


def test_two_numbers_equal_three_with_a_zero_but_show_as_written() -> None:
    assert Version.parse("1.7") == Version.parse("1.7.0")
    assert same_version("1.7", "1.7.0")
    assert hash(Version.parse("1.7")) == hash(Version.parse("1.7.0"))
    assert str(Version.parse("1.7")) == "1.7"
    assert str(Version.parse("1.7.0")) == "1.7.0"
    assert Version.parse("3.3") > Version.parse("3.2.1")


def test_next_patch_of_two_numbers_adds_the_third() -> None:
    assert str(Version.parse("1.7").next_patch()) == "1.7.1"
    assert str(Version.parse("0.3").next_patch()) == "0.3.1"
    assert str(Version.parse("1.7.1").next_patch()) == "1.7.2"


def test_display_marks_untagged_changes_with_plus() -> None:
    assert display("1.7.0", True) == "1.7.0+"
    assert display("1.7", False) == "1.7"


def test_suggestion_is_next_patch_of_production() -> None:
    assert suggest_hotfix_tag(Version(1, 7, 0), []) == Version(1, 7, 1)
    assert str(suggest_hotfix_tag(Version.parse("1.7"), [])) == "1.7.1"


def test_suggestion_skips_tags_used_before_whatever_their_spelling() -> None:
    used = [Version.parse("1.7.1"), Version.parse("1.7.2"), Version.parse("1.8")]
    assert suggest_hotfix_tag(Version.parse("1.7"), used) == Version(1, 7, 3)


def test_explicit_tag_must_be_above_production_and_unused() -> None:
    with pytest.raises(InvalidInput, match="not above Production's 1.7.0"):
        check_hotfix_tag(Version(1, 7, 0), Version.parse("1.7.0"), [])
    with pytest.raises(InvalidInput, match="1.7.0 is not above Production's 1.7"):
        check_hotfix_tag(Version.parse("1.7.0"), Version.parse("1.7"), [])
    with pytest.raises(InvalidInput, match="not above Production's 3.3"):
        check_hotfix_tag(Version.parse("3.2.1"), Version.parse("3.3"), [])
    with pytest.raises(InvalidInput, match="was tagged before"):
        check_hotfix_tag(Version(1, 7, 2), Version(1, 7, 0), [Version(1, 7, 2)])
    check_hotfix_tag(Version.parse("1.8"), Version.parse("1.7"), [])


@given(versions)
def test_format_and_parse_round_trip(version: Version) -> None:
    assert Version.parse(str(version)) == version


@given(written)
def test_written_versions_show_as_written(text: str) -> None:
    assert str(Version.parse(text)) == text


@given(written, written)
def test_equality_ignores_a_missing_zero_and_agrees_with_ordering(a: str, b: str) -> None:
    va, vb = Version.parse(a), Version.parse(b)
    padded = [tuple(int(n) for n in [*t.split("."), "0"][:3]) for t in (a, b)]
    assert (va == vb) == (padded[0] == padded[1])
    assert (va < vb) == (padded[0] < padded[1])
    if va == vb:
        assert hash(va) == hash(vb)


@given(written, st.lists(written, max_size=30))
def test_suggestion_is_above_production_unused_and_accepted(
    production_text: str, used_text: list[str]
) -> None:
    production = Version.parse(production_text)
    used = [Version.parse(t) for t in used_text]
    suggestion = suggest_hotfix_tag(production, used)
    assert suggestion > production
    assert suggestion not in used
    assert (suggestion.major, suggestion.minor) == (production.major, production.minor)
    assert str(suggestion).count(".") == 2
    check_hotfix_tag(suggestion, production, used)


@given(written, written)
def test_never_accepts_a_tag_at_or_below_production(production: str, requested: str) -> None:
    if Version.parse(requested) <= Version.parse(production):
        with pytest.raises(InvalidInput):
            check_hotfix_tag(Version.parse(requested), Version.parse(production), [])


@given(versions, versions)
def test_ordering_is_numeric_not_textual(a: Version, b: Version) -> None:
    assert (a < b) == ((a.major, a.minor, a.patch) < (b.major, b.minor, b.patch))
