"""The LifeTime watch's message: untagged changes in the hotfix environment, once per change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block

from bot import ids
from bot.ids import ButtonValue
from bot.views.kit import button, context, section
from bot.views.text import escape, truncate


def change_message(
    suggestion_id: int,
    application: str,
    environment: str,
    version: str,
    modules: Sequence[str],
    since: datetime,
) -> tuple[str, list[Block]]:
    names = ", ".join(modules) or "modules LifeTime did not name"
    on = f" on {version}" if version else ""
    text = escape(
        truncate(
            f"LifeTime shows untagged changes in {environment}{on} for {application}: {names}. "
            "No hotfix is open; is this one?",
            280,
        )
    )
    value = ButtonValue("", extra=str(suggestion_id)).encode()
    blocks: list[Block] = [
        section(
            f"🔴 *{escape(application)}* has untagged changes in *{escape(environment)}*"
            f"{escape(on)} (LifeTime's red `+`), and no hotfix is open.\n"
            f"*Changed modules* (compared with what Production runs): {escape(names)}\n"
            f"*Since* {since:%Y-%m-%d %H:%M} UTC"
        ),
        ActionsBlock(
            elements=[
                button("Open hotfix", ids.OPEN_FROM_CHANGE, value, style="primary"),
                button("Not a hotfix…", ids.NOT_A_HOTFIX, value),
            ]
        ),
        context("The bot watches LifeTime and tells each change once."),
    ]
    return text, blocks


def change_dismissed(application: str, modules: Sequence[str], user: str, reason: str) -> str:
    names = ", ".join(modules) or "the changes"
    return (
        f"<@{user}> says the untagged changes of {escape(application)} ({escape(names)}) are "
        f"not a hotfix: {escape(truncate(reason, 500))}"
    )


def evidence_line(
    hotfix_ref: str, application: str, module: str, environment: str, at: datetime
) -> str:
    """The owners' direct message: LifeTime shows a new version of a hotfix module."""
    return (
        f"👀 {hotfix_ref} · {escape(application)}: LifeTime shows a new "
        f"{escape(module)} published in {escape(environment)} {at:%H:%M} UTC. "
        "If that is the fix, confirm it with *Merged* on the hotfix message."
    )
