from __future__ import annotations

from collections.abc import Callable

from bot.listeners.actions.change_button import change_button
from bot.services import BotServices
from commands import hotfixes


def handler(services: BotServices) -> Callable[..., None]:
    """Tag & Deploy <version> (confirmed in Slack's dialog)."""
    return change_button(
        services,
        lambda s, actor, click: hotfixes.request_deploy(
            s.ctx,
            actor,
            click.value.hotfix,
            click.value.extra or None,
            request_key=click.request_key,
        ),
    )
