"""Buttons that ask for more (a version, a reason) open a modal first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.ids import ModalContext
from bot.listeners.actions.clicks import Click


def modal_opener(build: Callable[[Click, ModalContext], View], purpose: str) -> Callable[..., None]:
    def handle(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, *_: Any
    ) -> None:
        ack()
        click = Click.of(body, action)
        client.views_open(
            trigger_id=click.trigger_id, view=build(click, click.modal_context(purpose))
        )

    return handle
