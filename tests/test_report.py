"""How hotfixes go: the report's figures against a seeded history with known answers, the
percentile definition (property-tested), and the chart (its PNG and the data it plots)."""

from __future__ import annotations

import math
import struct
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import grammar
from bot.grammar import GrammarError
from bot.views import home_view, report_reply
from commands import queries
from commands.context import ServiceContext
from commands.errors import InvalidInput, NotFound
from commands.report import HotfixReport, hotfix_report
from commands.report_chart import HEIGHT_PX, WIDTH_PX, chart_figure, chart_png, chart_series
from commands.report_results import SkippedItem
from commands.statistics import percentile
from tests.report_history import SKIP_REASON, seed_history
from tests.support import MovableClock

H = timedelta(hours=1)


@pytest.fixture
def history(ctx: ServiceContext, clock: MovableClock) -> ServiceContext:
    seed_history(ctx, clock)
    return ctx


@pytest.fixture
def four_weeks(history: ServiceContext) -> HotfixReport:
    return hotfix_report(history, None, 28)


# the figures ------------------------------------------------------------------------------------


def test_overall_figures_match_the_seeded_history(four_weeks: HotfixReport) -> None:
    overall = four_weeks.overall
    assert (overall.opened, overall.deployed, overall.solved) == (6, 5, 4)
    # To Production: 2, 6, 4, 1, 3 h -> sorted 1 2 3 4 6: rank ceil(2.5)=3 and ceil(4.5)=5.
    assert (overall.to_production_median, overall.to_production_p90) == (3 * H, 6 * H)
    # Production to solved: 4, 10, 8, 2 h -> sorted 2 4 8 10: rank 2 and ceil(3.6)=4.
    assert (overall.production_to_solved_median, overall.production_to_solved_p90) == (
        4 * H,
        10 * H,
    )
    assert [(s.hotfix, s.environment, s.module, s.reason) for s in overall.skipped] == [
        ("HF-2", "Development", "Checkout", SKIP_REASON)
    ]
    assert overall.oldest_red is not None
    assert (overall.oldest_red.ref, overall.oldest_red.application) == ("HF-6", "eCommerce")


def test_figures_per_application(four_weeks: HotfixReport) -> None:
    per_app = dict(four_weeks.applications)
    assert list(per_app) == ["Back Office", "eCommerce"]
    shop, office = per_app["eCommerce"], per_app["Back Office"]
    assert (shop.opened, shop.deployed, shop.solved) == (4, 4, 3)
    # 2, 6, 1, 3 h -> 1 2 3 6; solved 4, 10, 2 h -> 2 4 10.
    assert (shop.to_production_median, shop.to_production_p90) == (2 * H, 6 * H)
    assert (shop.production_to_solved_median, shop.production_to_solved_p90) == (4 * H, 10 * H)
    assert shop.oldest_red is not None and shop.oldest_red.ref == "HF-6"
    assert len(shop.skipped) == 1
    # HF-3 deployed after 4 h and solved 8 h later; HF-5 was cancelled before Production.
    assert (office.opened, office.deployed, office.solved) == (2, 1, 1)
    assert (office.to_production_median, office.to_production_p90) == (4 * H, 4 * H)
    assert office.production_to_solved_median == 8 * H
    assert office.skipped == () and office.oldest_red is None


def test_the_window_counts_hotfixes_opened_in_it(history: ServiceContext) -> None:
    # The last 7 days hold HF-5 (cancelled) and HF-6 (3 h to Production, unsolved).
    week = hotfix_report(history, None, "7").overall
    assert (week.opened, week.deployed, week.solved) == (2, 1, 0)
    assert week.to_production_median == 3 * H
    assert week.production_to_solved_median is None and week.skipped == ()
    assert week.oldest_red is not None and week.oldest_red.ref == "HF-6"


def test_one_application_by_any_case(history: ServiceContext) -> None:
    report = hotfix_report(history, "back office", 28)
    assert report.application == "Back Office"
    assert report.overall.opened == 2 and [name for name, _ in report.applications] == [
        "Back Office"
    ]


@pytest.mark.parametrize("days", ["0", "-3", "many", "731", "1.5"])
def test_bad_windows_are_refused(ctx: ServiceContext, days: str) -> None:
    with pytest.raises(InvalidInput, match="days"):
        hotfix_report(ctx, None, days)


def test_an_unknown_application_is_refused(ctx: ServiceContext) -> None:
    with pytest.raises(NotFound):
        hotfix_report(ctx, "Nope", 28)


def test_nothing_yet(ctx: ServiceContext) -> None:
    report = hotfix_report(ctx)
    assert report.days == 90 and report.overall.opened == 0
    assert report.overall.to_production_median is None and report.overall.oldest_red is None
    assert sum(week.opened for week in report.weeks) == 0


# the percentile definition ----------------------------------------------------------------------

values = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60)
levels = st.floats(min_value=0.5, max_value=100, allow_nan=False)


@given(values, levels)
def test_percentile_is_the_smallest_observed_value_with_p_percent_at_or_below(
    data: list[int], p: float
) -> None:
    found = percentile(data, p)
    assert found in data
    assert sum(v <= found for v in data) >= p / 100 * len(data)
    # Any smaller observed value has fewer than p% at or below it.
    smaller = [v for v in data if v < found]
    if smaller:
        assert sum(v <= max(smaller) for v in data) < p / 100 * len(data)


@given(values, levels, levels)
def test_percentile_grows_with_p_and_ignores_order(data: list[int], p: float, q: float) -> None:
    low, high = sorted((p, q))
    assert percentile(data, low) <= percentile(data, high)  # type: ignore[operator]
    assert percentile(list(reversed(data)), p) == percentile(data, p)
    assert percentile(data, 100) == max(data)


@given(values)
def test_median_is_the_lower_middle_value(data: list[int]) -> None:
    ordered = sorted(data)
    assert percentile(data, 50) == ordered[math.ceil(len(data) / 2) - 1]


def test_percentile_edges() -> None:
    assert percentile([], 50) is None
    assert percentile(list(range(1, 11)), 90) == 9  # rank exactly 9, no rounding up to 10
    with pytest.raises(ValueError):
        percentile([1], 0)


# the chart --------------------------------------------------------------------------------------


def test_weekly_series_match_the_history(four_weeks: HotfixReport) -> None:
    series = chart_series(four_weeks)
    # Weeks counted back from now (5 h after HF-6 opened): HF-1 | HF-2 | HF-3, HF-4 | HF-5, HF-6.
    assert series.opened == (1, 1, 2, 2)
    assert sum(series.opened) == four_weeks.overall.opened
    # Open to solved: HF-1 6 h; HF-2 16 h; HF-3 12 h and HF-4 3 h -> lower middle 3 h; none.
    assert series.median_hours == (6.0, 16.0, 3.0, None)
    assert len(series.labels) == 4


def test_the_figure_plots_exactly_the_series(four_weeks: HotfixReport) -> None:
    series = chart_series(four_weeks)
    figure = chart_figure(four_weeks)
    bars, line_axes = figure.axes
    assert [patch.get_height() for patch in bars.patches] == list(series.opened)
    (line,) = line_axes.get_lines()
    assert list(line.get_xdata()) == [0, 1, 2]
    assert list(line.get_ydata()) == [6.0, 16.0, 3.0]
    assert [label.get_text() for label in bars.get_xticklabels()] == list(series.labels)


def test_the_chart_is_a_png_of_the_expected_size(four_weeks: HotfixReport) -> None:
    png = chart_png(four_weeks)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # The first chunk is IHDR: length 13, then width and height as big-endian integers.
    length, kind, width, height = struct.unpack(">I4sII", png[8:24])
    assert (length, kind, width, height) == (13, b"IHDR", WIDTH_PX, HEIGHT_PX)


# the words ---------------------------------------------------------------------------------------


def test_reply_carries_every_figure_in_words(four_weeks: HotfixReport, clock: MovableClock) -> None:
    text, blocks = report_reply(four_weeks, clock())
    shown = str([block.to_dict() for block in blocks])
    assert text.startswith("Hotfixes, all applications, last 28 days: 6 opened")
    assert "Open → Production: median 3 h, 90th percentile 6 h" in shown
    assert "Production → solved: median 4 h, 90th percentile 10 h" in shown
    assert "HF-2 Development/Checkout: Development was rebuilt from Production" in shown
    assert "Oldest red: HF-6 (eCommerce, A defect), red for 5 h" in shown
    assert "*Back Office*" in shown and "*eCommerce*" in shown
    assert len(blocks) <= 50


def test_many_long_skips_stay_within_block_kit_limits(
    four_weeks: HotfixReport, clock: MovableClock
) -> None:
    reason = "Development was rebuilt from Production & <redeployed> " * 20
    skip = SkippedItem("HF-2", "eCommerce", "Development", "Checkout", reason)
    overall = replace(four_weeks.overall, skipped=(skip,) * 40)
    many = replace(four_weeks, overall=overall, applications=(("A" * 120, overall),) * 30)
    _, blocks = report_reply(many, clock())
    shown = str([block.to_dict() for block in blocks])  # to_dict() checks Slack's limits
    assert "Skipped items: 40 (" in shown and "and 35 more" in shown
    assert "…and 10 more applications" in shown
    assert len(blocks) <= 50


def test_home_has_a_report_section_within_block_kit_limits(
    four_weeks: HotfixReport, ctx: ServiceContext, clock: MovableClock
) -> None:
    red, _ = queries.red_overview(ctx)
    app = queries.applications(ctx)[0]
    apps = [replace(app, name=f"App {i:03}") for i in range(200)]
    view = home_view(red, apps, clock(), report=four_weeks)
    view.validate_json()
    data = view.to_dict()
    assert len(data["blocks"]) <= 100
    shown = str(data)
    assert "How hotfixes go · last 28 days" in shown
    assert "Opened: 6 · reached Production: 5 · solved: 4" in shown


# the grammar -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("report", ((), {})),
        ("report eCommerce", (("eCommerce",), {})),
        ("report --days 30", ((), {"days": "30"})),
        ('report "Back Office" --days 7', (("Back Office",), {"days": "7"})),
        ("report --days=14 Back Office", (("Back Office",), {"days": "14"})),
    ],
)
def test_report_grammar(text: str, args: tuple[tuple[str, ...], dict[str, str]]) -> None:
    assert grammar.parse(text) == grammar.Request("report", args[0], flags=args[1])


@pytest.mark.parametrize("text", ["report --days", "report eCommerce --weeks 3"])
def test_report_grammar_refuses_bad_options(text: str) -> None:
    with pytest.raises(GrammarError, match="report"):
        grammar.parse(text)
