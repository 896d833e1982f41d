from __future__ import annotations

from collections.abc import Callable

from bot.listeners.actions.change_button import change_button
from bot.services import BotServices
from commands import hotfixes


def handler(services: BotServices) -> Callable[..., None]:
    """Merged: one module of the checklist reached one environment."""
    return change_button(
        services,
        lambda s, actor, click: hotfixes.mark_merged(
            s.ctx,
            actor,
            click.value.hotfix,
            click.value.environment,
            click.value.module,
            request_key=click.request_key,
        ),
    )
