from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.listeners.actions.clicks import Click
from bot.services import BotServices
from commands import hotfixes


def handler(services: BotServices) -> Callable[..., None]:
    """Merged: one module of the checklist reached one environment."""

    def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], *_: Any) -> None:
        ack()
        click = Click.of(body, action)
        outcome = hotfixes.mark_merged(
            services.ctx,
            services.actor(click.user),
            click.value.hotfix,
            click.value.environment,
            click.value.module,
            request_key=click.request_key,
        )
        services.publisher.publish(outcome.hotfix.ref, outcome.event)

    return handle
