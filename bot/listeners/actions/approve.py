from __future__ import annotations

from collections.abc import Callable

from bot.listeners.actions.change_button import change_button
from bot.services import BotServices
from commands import hotfixes


def handler(services: BotServices) -> Callable[..., None]:
    """Approve a requested Tag & Deploy (four eyes: not its requester)."""
    return change_button(
        services,
        lambda s, actor, click: hotfixes.approve_deploy(
            s.ctx, actor, click.value.hotfix, request_key=click.request_key
        ),
    )
