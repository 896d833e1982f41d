"""Reminder nudges (direct messages), their thread line, escalations, snooze answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot import ids
from bot.ids import ButtonValue
from bot.views.hotfix_message import next_step
from bot.views.kit import button, context, plain, section
from bot.views.text import escape, mentions, rich, truncate
from commands.describe import describe_duration
from commands.results import HotfixSnapshot

SNOOZES = (("1h", "Snooze 1h"), ("4h", "Snooze 4h"), ("1d", "Snooze 1 day"))


def red_for(hotfix: HotfixSnapshot, now: datetime) -> str:
    return describe_duration((now - hotfix.opened_at).total_seconds())


def nudge_message(
    hotfix: HotfixSnapshot, now: datetime, link: str | None
) -> tuple[str, list[Block]]:
    notification = (
        f"⏰ {hotfix.ref} · {hotfix.application} has been red for {red_for(hotfix, now)}. "
        f"Waiting on: {next_step(hotfix)}"
    )
    text = escape(truncate(notification, 280))
    elements: list[ButtonElement] = [
        button(label, f"{ids.SNOOZE}:{length}", ButtonValue(hotfix.ref, extra=length).encode())
        for length, label in SNOOZES
    ]
    if link:
        elements.append(ButtonElement(text=plain("Open the hotfix"), url=link, action_id="open"))
    blocks: list[Block] = [
        section(
            f"⏰ *{hotfix.ref}* · {escape(hotfix.application)} · "
            f"{rich(truncate(hotfix.summary, 200))}\n"
            f"Red for *{red_for(hotfix, now)}* · severity *{hotfix.severity.value}*\n"
            f"*Waiting on:* {escape(next_step(hotfix))}"
        ),
        ActionsBlock(elements=elements),
        context("You get this because you own this hotfix or approve its deploys."),
    ]
    return text, blocks


def reminder_thread_line(hotfix: HotfixSnapshot, users: Sequence[str], now: datetime) -> str:
    return (
        f"⏰ Reminded {mentions(users)}: red for {red_for(hotfix, now)}, "
        f"waiting on {escape(next_step(hotfix))}"
    )


def escalation_message(
    hotfix: HotfixSnapshot, now: datetime, unanswered: int, usergroup: str | None
) -> str:
    who = f"<!subteam^{usergroup}> " if usergroup else ""
    return (
        f"🚨 {who}*{hotfix.ref}* · {escape(hotfix.application)} has been red for "
        f"*{red_for(hotfix, now)}* and {unanswered} reminder(s) went unanswered. "
        f"Owners: {mentions(hotfix.owners)}. Waiting on: {escape(next_step(hotfix))}"
    )


def snoozed_reply(hotfix_ref: str, length: str, until: datetime | None) -> str:
    when = f" (until {until:%Y-%m-%d %H:%M} UTC)" if until else ""
    return f"😴 {hotfix_ref}: no reminders for {length}{when}."


def regression_warning(
    hotfix: HotfixSnapshot, plan_key: str, source: str, pending: Sequence[str]
) -> str:
    return (
        f"⚠️ *{hotfix.ref}* · a LifeTime deployment plan (`{escape(plan_key)}`) would deploy "
        f"{escape(hotfix.application)} from *{escape(source)}* to Production, but {escape(source)} "
        f"does not have the fix yet ({escape(', '.join(pending))} not merged). Deploying it "
        "would undo the hotfix: merge first, or hold the plan."
    )
