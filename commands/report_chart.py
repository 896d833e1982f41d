"""The report's chart as a PNG: hotfixes opened per week (bars), median time to solve (line).

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global figure state), which
is what matplotlib recommends for servers: https://matplotlib.org/stable/gallery/user_interfaces/web_application_server_sgskip.html
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from commands.report_results import HotfixReport

WIDTH_PX = 900
HEIGHT_PX = 420
DPI = 100
BAR_COLOUR = "#b5361d"
LINE_COLOUR = "#1d6fb5"


@dataclass(frozen=True)
class ChartSeries:
    """What the chart plots, week by week (the earliest first)."""

    labels: tuple[str, ...]  # the first day of each week, e.g. "Nov 23"
    opened: tuple[int, ...]
    median_hours: tuple[float | None, ...]  # None: nothing opened that week was solved


def chart_series(report: HotfixReport) -> ChartSeries:
    return ChartSeries(
        labels=tuple(f"{week.start:%b %d}" for week in report.weeks),
        opened=tuple(week.opened for week in report.weeks),
        median_hours=tuple(
            None if week.median_to_solve is None else week.median_to_solve.total_seconds() / 3600
            for week in report.weeks
        ),
    )


def chart_figure(report: HotfixReport) -> Figure:
    """The figure: axes[0] holds the bars (opened), axes[1] the line (median hours to solve)."""
    series = chart_series(report)
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    bars = figure.add_subplot()
    positions = list(range(len(series.labels)))
    bars.bar(positions, series.opened, color=BAR_COLOUR, label="hotfixes opened")
    bars.set_ylabel("hotfixes opened")
    bars.set_ylim(0, max(1, *series.opened) * 1.3)  # headroom for the legend
    bars.set_xticks(positions, series.labels, rotation=45, ha="right", fontsize=8)
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole hotfixes
    times = bars.twinx()
    solved = [(x, y) for x, y in zip(positions, series.median_hours, strict=True) if y is not None]
    times.plot(
        [x for x, _ in solved],
        [y for _, y in solved],
        color=LINE_COLOUR,
        marker="o",
        label="median hours to solve",
    )
    times.set_ylabel("median hours, open to solved")
    times.set_ylim(bottom=0)
    scope = report.application or "all applications"
    bars.set_title(f"Hotfixes per week, {scope}, last {report.days} days")
    handles = [*bars.get_legend_handles_labels()[0], *times.get_legend_handles_labels()[0]]
    bars.legend(handles=handles, loc="upper left", fontsize=8)
    return figure


def chart_png(report: HotfixReport) -> bytes:
    """The chart as PNG bytes, WIDTH_PX x HEIGHT_PX."""
    buffer = io.BytesIO()
    chart_figure(report).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
