"""The LifeTime watch's message: *Open hotfix* (modules filled in) and *Not a hotfix…*."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import views
from bot.ids import OPEN_SUGGESTED, ModalContext
from bot.listeners.actions.clicks import Click
from bot.listeners.actions.modal_buttons import modal_opener
from bot.services import BotServices
from commands import lifetime_watch, queries
from commands.errors import InvalidInput


def _suggestion_id(click: Click) -> int:
    try:
        return int(click.value.extra)
    except ValueError as error:
        raise InvalidInput("this button does not name a LifeTime change") from error


def open_handler(services: BotServices) -> Callable[..., None]:
    """The open-hotfix modal, with the application and the changed modules filled in."""

    def handle(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, *_: Any
    ) -> None:
        ack()
        click = Click.of(body, action)
        change = lifetime_watch.suggestion(services.ctx, _suggestion_id(click))
        view = views.open_modal(
            queries.applications(services.ctx),
            # The untagged changes LifeTime showed are this fix: opening accepts the `+`.
            ModalContext(OPEN_SUGGESTED, channel=click.channel),
            application=change.application,
            modules=", ".join(change.modules),
        )
        client.views_open(trigger_id=click.trigger_id, view=view)

    return handle


def dismiss_handler(services: BotServices) -> Callable[..., None]:
    """*Not a hotfix…*: asks why; the reason is recorded (see submissions/reason.py)."""
    return modal_opener(
        lambda click, context: views.reason_modal(
            ModalContext(
                "not_a_hotfix",
                module=str(_suggestion_id(click)),
                channel=click.channel,
                message_ts=click.message_ts,
            ),
            "Not a hotfix",
            "Why are these untagged changes not a hotfix?",
            subject="Untagged changes LifeTime shows",
        ),
        "not_a_hotfix",
    )
