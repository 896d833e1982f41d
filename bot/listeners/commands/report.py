"""`/hotfix report [<app>] [--days N]`: the figures as a message, and the chart as a PNG file.

Both go to the channel where the command was typed, for the team to see, through
bot/delivery.py (an answer to a request, not an outbox row: see there). The PNG goes through
slack-sdk's `files_upload_v2`: files.getUploadURLExternal, a POST of the bytes to the returned
upload_url, then files.completeUploadExternal sharing it in the channel
(https://docs.slack.dev/reference/methods/files.getUploadURLExternal,
https://docs.slack.dev/reference/methods/files.completeUploadExternal; scope `files:write`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot import delivery, views
from bot.services import BotServices
from bot.views.text import truncate
from commands.report import HotfixReport, hotfix_report
from commands.subcommands import Request

log = logging.getLogger(__name__)

CHART_FILENAME = "hotfix-report.png"
# Slack's answers when the bot may not post in a channel (private, or a DM between others).
NOT_A_MEMBER = {"not_in_channel", "channel_not_found"}
ALT_TEXT_LIMIT = 1000  # files.getUploadURLExternal refuses longer alt_txt (alt_txt_too_large)


def report(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    application = r.args[0] if r.args else None
    result = hotfix_report(s.ctx, application or None, r.flags.get("days"))
    now = s.ctx.now()
    text, blocks = views.report_reply(result, now)
    channel = c.get("channel_id", "")
    # matplotlib loads on first use, so a server nobody asks for a report never pays for it.
    from commands.report_chart import chart_png

    png = chart_png(result)
    shared = False

    def posted() -> None:
        nonlocal shared
        shared = True

    try:
        delivery.share_report(
            w,
            channel,
            text,
            blocks,
            png,
            CHART_FILENAME,
            views.report_title(result),
            chart_alt_text(result),
            on_posted=posted,
        )
    except (SlackApiError, SlackRequestError) as error:
        # Not in the channel, uploads disabled...: the person still gets the figures.
        reason = error.response.get("error") if isinstance(error, SlackApiError) else str(error)
        log.warning("could not share the report in %s: %s", channel, reason)
        what = "the chart" if shared else "the report"
        advice = (
            ": invite me to this channel (`/invite @hotfix-bot`) and try again"
            if reason in NOT_A_MEMBER
            else ""
        )
        problem = views.error_reply(f"I could not share {what} here ({reason}){advice}.")[1]
        respond(
            text=text,
            blocks=problem if shared else [*blocks, *problem],
            response_type="ephemeral",
            replace_original=False,
        )


def chart_alt_text(result: HotfixReport) -> str:
    """What the chart shows, for people who cannot see it."""
    from commands.report_chart import chart_series

    series = chart_series(result)
    weeks = ", ".join(
        f"{label}: {opened} opened"
        + (f", median {hours:.1f} h to solve" if hours is not None else "")
        for label, opened, hours in zip(
            series.labels, series.opened, series.median_hours, strict=True
        )
    )
    scope = result.application or "all applications"
    return truncate(f"Hotfixes per week, {scope}, week starting {weeks}", ALT_TEXT_LIMIT)
