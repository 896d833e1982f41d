from __future__ import annotations

from collections.abc import Callable

from bot import views
from bot.listeners.actions.modal_buttons import modal_opener
from bot.services import BotServices
from commands import queries


def handler(services: BotServices) -> Callable[..., None]:
    """Another version…: Tag & Deploy with a version other than the suggested one."""
    return modal_opener(
        lambda click, context: views.version_modal(
            queries.hotfix_status(services.ctx, click.value.hotfix), context
        ),
        "deploy",
    )
