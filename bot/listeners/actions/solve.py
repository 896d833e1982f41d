from __future__ import annotations

from collections.abc import Callable

from bot.listeners.actions.change_button import change_button
from bot.services import BotServices
from commands import hotfixes


def handler(services: BotServices) -> Callable[..., None]:
    """Mark Hotfix as Solved."""
    return change_button(
        services,
        lambda s, actor, click: hotfixes.solve(
            s.ctx, actor, click.value.hotfix, request_key=click.request_key
        ),
    )
