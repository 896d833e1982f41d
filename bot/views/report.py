"""How hotfixes go, in words: the `/hotfix report` message and the App Home section.

The chart is uploaded next to these; the words stay so that screen readers get every figure.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.views.kit import context, header, section
from bot.views.text import SECTION_TEXT_LIMIT, escape, join_lines, truncate
from commands.report_results import Figures, HotfixReport, describe_figures

MAX_REPORT_APPLICATIONS = 20  # per-application sections in the message (of 50 blocks)
MAX_HOME_APPLICATIONS = 5  # App Home shares its 100 blocks with the red list and pipelines
# A line of figures at most (only the skipped items' line gets long); join_lines then keeps
# whole lines within a section's 3000 characters.
LINE_LIMIT = 2000


def _scope(report: HotfixReport) -> str:
    return report.application or "all applications"


def _figures_text(title: str, figures: Figures, now: datetime) -> str:
    lines = [truncate(escape(line), LINE_LIMIT) for line in describe_figures(figures, now)]
    return f"*{escape(title)}*\n" + join_lines(lines, SECTION_TEXT_LIMIT - len(title) - 10)


def report_title(report: HotfixReport) -> str:
    return f"Hotfixes, {_scope(report)}, last {report.days} days"


def report_reply(report: HotfixReport, now: datetime) -> tuple[str, list[Block]]:
    """Overall, then each application (when the report covers several)."""
    title = report_title(report)
    overall = "Overall" if report.application is None else report.application
    blocks: list[Block] = [header(title), section(_figures_text(overall, report.overall, now))]
    if report.application is None:
        shown = report.applications[:MAX_REPORT_APPLICATIONS]
        blocks.extend(section(_figures_text(name, figures, now)) for name, figures in shown)
        rest = [escape(name) for name, _ in report.applications[len(shown) :]]
        if rest:
            blocks.append(context(f"…and {len(rest)} more applications: `/hotfix report <app>`"))
    blocks.append(
        context(
            "Times are medians and 90th percentiles (nearest rank) over hotfixes opened in the "
            "window; the chart shows hotfixes opened per week and their median time to solve."
        )
    )
    figures = report.overall
    text = truncate(
        f"{title}: {figures.opened} opened, {figures.deployed} reached Production, "
        f"{figures.solved} solved",
        300,
    )
    return text, blocks


def report_home_blocks(report: HotfixReport, now: datetime) -> list[Block]:
    """A few blocks for App Home: overall figures and the busiest applications."""
    blocks: list[Block] = [
        header(f"How hotfixes go · last {report.days} days"),
        section(_figures_text("Overall", report.overall, now)),
    ]
    busiest = sorted(report.applications, key=lambda item: -item[1].opened)
    lines = [
        f"*{escape(name)}*: {figures.opened} opened, {figures.solved} solved"
        for name, figures in busiest[:MAX_HOME_APPLICATIONS]
    ]
    if lines:
        blocks.append(section(join_lines(lines, SECTION_TEXT_LIMIT)))
    blocks.append(context("Per application and the chart: `/hotfix report [app] [--days N]`"))
    return blocks
