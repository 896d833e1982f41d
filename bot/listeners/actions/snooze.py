from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot import views
from bot.listeners.actions.clicks import Click
from bot.services import BotServices
from commands import reminders


def handler(services: BotServices) -> Callable[..., None]:
    """Snooze 1h / 4h / 1 day, on a reminder nudge."""

    def handle(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], _: Any, respond: Any
    ) -> None:
        ack()
        click = Click.of(body, action)
        outcome = reminders.snooze(
            services.ctx,
            services.actor(click.user),
            click.value.hotfix,
            click.value.extra,
            request_key=click.request_key,
        )
        services.deliverer.deliver(outcome.work)
        ref = outcome.hotfix.ref
        until = reminders.next_reminder(services.ctx, ref)
        text = views.snoozed_reply(ref, str(outcome.event.details["for"]), until)
        respond(text=text, replace_original=True)

    return handle
