"""The App Home: red hotfixes first (the oldest first), then every application's pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.views.hotfix_message import red_summary
from bot.views.kit import context, divider, header, section
from bot.views.report import report_home_blocks
from bot.views.text import date_token, escape, join_limited, pipeline_code
from commands.report_results import HotfixReport
from commands.results import ApplicationSnapshot, HotfixSnapshot

MAX_VIEW_BLOCKS = 100
MAX_HOME_RED = 20


def home_view(
    red: list[HotfixSnapshot],
    applications: list[ApplicationSnapshot],
    now: datetime,
    more_red: Sequence[str] = (),
    more_applications: Sequence[str] = (),
    report: HotfixReport | None = None,
) -> View:
    """`more_red` and `more_applications`: refs and names of those not given in full;
    `report`: how hotfixes went lately, shown between the red list and the applications."""
    blocks: list[Block] = [header("Hotfixes"), context(f"Updated {date_token(now)}")]
    ordered = sorted(red, key=lambda hotfix: hotfix.opened_at)
    if ordered:
        shown = ordered[:MAX_HOME_RED]
        blocks.extend(section(red_summary(hotfix, now)) for hotfix in shown)
        rest = [hotfix.ref for hotfix in ordered[len(shown) :]] + list(more_red)
        if rest:
            blocks.append(
                context(f"…and {len(rest)} more red: {join_limited(rest, 1500)} (`/hotfix list`)")
            )
    else:
        blocks.append(section("✅ Nothing is red: every environment has its fixes."))
    if report is not None:
        blocks.append(divider())
        blocks.extend(report_home_blocks(report, now))
    blocks.append(divider())
    blocks.append(header("Applications"))
    if not applications and not more_applications:
        blocks.append(context("No applications yet: an admin adds one with `/hotfix app add`."))
    # Applications with a red hotfix first, then in catalog order.
    apps = sorted(applications, key=lambda app: app.active_hotfix is None)
    room = MAX_VIEW_BLOCKS - len(blocks) - 1
    shown_apps = apps if len(apps) <= room + 1 else apps[:room]
    for app in shown_apps:
        red_mark = f" · 🔴 {app.active_hotfix}" if app.active_hotfix else ""
        code = pipeline_code(app.pipeline, with_fix=False)
        blocks.append(section(f"*{escape(app.name)}*{red_mark}\n{code}"))
    rest = [escape(app.name) for app in apps[len(shown_apps) :]]
    rest += [escape(name) for name in more_applications]
    if rest:
        blocks.append(
            context(
                f"…and {len(rest)} more applications: {join_limited(rest, 1500)} (`/hotfix apps`)"
            )
        )
    return View(type="home", blocks=blocks)
