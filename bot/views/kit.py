"""Thin builders over slack-sdk's Block Kit classes that keep texts within Slack's limits."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.views.text import (
    BUTTON_TEXT_LIMIT,
    CONTEXT_TEXT_LIMIT,
    HEADER_LIMIT,
    SECTION_TEXT_LIMIT,
    truncate,
)


def plain(text: str, limit: int = SECTION_TEXT_LIMIT) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, limit), emoji=True)


def markdown(text: str, limit: int = SECTION_TEXT_LIMIT) -> MarkdownTextObject:
    """mrkdwn text, already escaped by the caller. Cut only as a last resort."""
    return MarkdownTextObject(text=truncate(text, limit))


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_LIMIT))


def section(text: str) -> SectionBlock:
    return SectionBlock(text=markdown(text, SECTION_TEXT_LIMIT))


def context(*texts: str) -> ContextBlock:
    return ContextBlock(
        elements=[markdown(text, CONTEXT_TEXT_LIMIT) for text in texts if text][:10]
    )


def divider() -> DividerBlock:
    return DividerBlock()


def confirm(title: str, text: str, yes: str, no: str = "Not yet") -> ConfirmObject:
    return ConfirmObject(
        title=plain(title, 100),
        text=markdown(text, 300),
        confirm=plain(yes, 30),
        deny=plain(no, 30),
    )


def button(
    label: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirmation: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=plain(label, BUTTON_TEXT_LIMIT),
        action_id=action_id,
        value=value,
        style=style,
        confirm=confirmation,
    )
