"""A button that applies one change through the service layer and refreshes the message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.listeners.actions.clicks import Click
from bot.services import BotServices
from commands.actors import Actor
from commands.results import Outcome

Change = Callable[[BotServices, Actor, Click], Outcome]


def change_button(services: BotServices, change: Change) -> Callable[..., None]:
    def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], *_: Any) -> None:
        ack()
        click = Click.of(body, action)
        outcome = change(services, services.actor(click.user), click)
        services.deliverer.deliver(outcome.work)

    return handle
