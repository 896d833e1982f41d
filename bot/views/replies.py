"""Replies to slash commands (usually ephemeral): help, status, lists, history, errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.views.hotfix_message import (
    event_line,
    fallback_text,
    hotfix_blocks,
    red_summary,
    state_emoji,
)
from bot.views.kit import context, divider, section
from bot.views.text import (
    SECTION_TEXT_LIMIT,
    and_list,
    date_token,
    escape,
    join_limited,
    mentions,
    pipeline_code,
    pipeline_inline,
    rich,
    truncate,
)
from commands.results import ApplicationSnapshot, EventLine, HotfixSnapshot
from commands.subcommands import Subcommand, Surface, heads, on

MAX_REPLY_BLOCKS = 50
MAX_LISTED = 40


def _help_line(command: Subcommand) -> str:
    what = command.summary
    if command.alone:
        what += f" (`/hotfix {command.name}` alone {command.alone})"
    return f"• `/hotfix {escape(command.usage)}`: {escape(what)}"


def help_reply(
    suggestion: str | None = None, unknown: str | None = None
) -> tuple[str, list[Block]]:
    """The whole grammar, from the one table of subcommands; with `unknown` (the word that is
    not a subcommand) and `suggestion` when a subcommand was mistyped."""
    intro = ""
    if unknown is not None:
        intro = f"I don't know `{escape(truncate(unknown, 60))}`."
    if suggestion:
        intro = f"{intro} Did you mean `{escape(suggestion)}`?".strip()
    offered = on(Surface.SLACK)
    everyone = "\n".join(_help_line(c) for c in offered if not c.admin)
    admins = "\n".join(_help_line(c) for c in offered if c.admin)
    blocks: list[Block] = []
    if intro:
        blocks.append(section(f":thinking_face: {intro}"))
    blocks.append(section(f"*How to use `/hotfix`*\n{everyone}"))
    blocks.append(section(f"*Admins*\n{admins}"))
    blocks.append(
        context(
            "Hotfix ids look like `HF-12`; environments are named or aliased "
            "(`qa`, `Quality Assurance`). Approve and Reject are buttons on the hotfix message."
        )
    )
    text = intro or "How to use /hotfix: " + ", ".join(heads(Surface.SLACK))
    return text, blocks


def status_reply(hotfix: HotfixSnapshot, now: datetime) -> tuple[str, list[Block]]:
    """The living message's body, without buttons, and which environments lack the fix."""
    blocks = hotfix_blocks(hotfix, now, interactive=False)
    if hotfix.lacking_fix:
        blocks.append(
            context(f"🩹 Still without the fix: {escape(and_list(list(hotfix.lacking_fix)))}")
        )
    return fallback_text(hotfix), blocks


def application_blocks(app: ApplicationSnapshot) -> list[Block]:
    approval = (
        "Tag & Deploy needs an approver"
        if app.require_approval
        else "Tag & Deploy without approval"
    )
    facts = [
        f"modules: {join_limited([escape(m) for m in app.modules], 800)}",
        f"owners: {mentions(app.owners)}",
        f"approvers: {mentions(app.approvers)}",
        approval,
    ]
    if app.home_channel:
        facts.append(f"channel: <#{escape(app.home_channel)}>")
    red = f" · 🔴 {app.active_hotfix}" if app.active_hotfix else ""
    return [
        section(f"*{escape(app.name)}*{red}\n{pipeline_code(app.pipeline, with_fix=False)}"),
        context(" · ".join(facts)),
    ]


def application_reply(
    app: ApplicationSnapshot, hotfix: HotfixSnapshot | None, now: datetime
) -> tuple[str, list[Block]]:
    """An application's pipeline, and its unsolved (or latest) hotfix."""
    blocks = application_blocks(app)
    if hotfix is None:
        blocks.append(context("No hotfix yet."))
        status = "no hotfix yet"
    elif hotfix.red:
        blocks.append(divider())
        blocks.extend(hotfix_blocks(hotfix, now, interactive=False))
        status = f"{hotfix.ref} is red: {hotfix.step}"
    else:
        blocks.append(
            context(
                f"Latest hotfix: {state_emoji(hotfix)} *{hotfix.ref}* · "
                f"{rich(truncate(hotfix.summary, 150))} · {hotfix.state.value}"
            )
        )
        status = "nothing red"
    text = escape(truncate(f"{app.name}: {status}", 300))
    return text, blocks[:MAX_REPLY_BLOCKS]


def list_reply(
    red: list[HotfixSnapshot], now: datetime, more: Sequence[str] = ()
) -> tuple[str, list[Block]]:
    """Every red hotfix, the oldest first (`more`: refs of red hotfixes not given in full)."""
    if not red and not more:
        return "Nothing is red.", [section("✅ Nothing is red.")]
    ordered = sorted(red, key=lambda h: h.opened_at)
    total = len(ordered) + len(more)
    count = f"{total} red hotfix{'es' if total != 1 else ''}"
    blocks: list[Block] = [section(f"*🔴 {count}*, the oldest first")]
    shown = ordered[:MAX_LISTED]
    blocks.extend(section(red_summary(hotfix, now)) for hotfix in shown)
    rest = [h.ref for h in ordered[len(shown) :]] + list(more)
    if rest:
        blocks.append(context(f"…and {len(rest)} more: {join_limited(rest, 1500)}"))
    return f"{count}: " + ", ".join(h.ref for h in shown), blocks


def history_reply(hotfix: HotfixSnapshot, events: list[EventLine]) -> tuple[str, list[Block]]:
    """The audit trail of a hotfix, one line per event, with dates in the reader's zone."""
    title = (
        f"*History of {hotfix.ref}* · {escape(hotfix.application)} · "
        f"{rich(truncate(hotfix.summary, 150))}"
    )
    blocks: list[Block] = [section(title)]
    lines = [f"{date_token(event.at)} · {event_line(event)}" for event in events]
    if not lines:
        blocks.append(context("No events."))
    chunk: list[str] = []
    size = 0
    limit = SECTION_TEXT_LIMIT - 100
    shown = 0
    for line in lines:
        line = truncate(line, limit)
        if chunk and size + len(line) + 1 > limit:
            if len(blocks) >= MAX_REPLY_BLOCKS - 2:
                break
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
        shown += 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if shown < len(lines):
        blocks.append(context(f"…and {len(lines) - shown} later events not shown."))
    return f"History of {hotfix.ref}: {len(events)} events", blocks


def apps_reply(
    apps: list[ApplicationSnapshot], more: Sequence[str] = ()
) -> tuple[str, list[Block]]:
    """Every application with its pipeline on one line (`more`: names not given in full)."""
    if not apps and not more:
        text = "No applications yet: an admin adds one with `/hotfix app add`."
        return text, [section(escape(text))]
    total = len(apps) + len(more)
    blocks: list[Block] = [section(f"*Applications* ({total})")]
    shown = apps[:MAX_LISTED]
    for app in shown:
        red = f" · 🔴 {app.active_hotfix}" if app.active_hotfix else ""
        blocks.append(section(f"*{escape(app.name)}*{red}\n{pipeline_inline(app.pipeline)}"))
    rest = [escape(a.name) for a in apps[len(shown) :]] + [escape(name) for name in more]
    if rest:
        blocks.append(context(f"…and {len(rest)} more: {join_limited(rest, 1500)}"))
    return f"{total} applications", blocks


def error_reply(message: str) -> tuple[str, list[Block]]:
    """A refusal or a mistake, said plainly (the message is escaped)."""
    text = f":warning: {escape(message)}"
    return truncate(text, SECTION_TEXT_LIMIT), [section(text)]


def not_here_reply(hotfix_ref: str, where: str) -> tuple[str, list[Block]]:
    """The bot cannot post in this conversation; `where` is mrkdwn (a channel link)."""
    line = (
        f":information_source: I cannot post in this conversation, so {hotfix_ref}'s message "
        f"with its buttons is in {where}. To have it here too, invite me: `/invite @hotfix-bot`"
    )
    return truncate(line, SECTION_TEXT_LIMIT), [section(line)]


def done_reply(text: str) -> tuple[str, list[Block]]:
    """A confirmation; `text` is mrkdwn written by the caller (mentions allowed)."""
    line = f":white_check_mark: {text}"
    return truncate(line, SECTION_TEXT_LIMIT), [section(line)]
