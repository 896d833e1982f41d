from __future__ import annotations

from collections.abc import Callable

from bot import views
from bot.listeners.actions.modal_buttons import modal_opener
from bot.services import BotServices


def handler(services: BotServices) -> Callable[..., None]:
    """Cancel…: only before the deploy, with a reason."""
    return modal_opener(
        lambda click, context: views.reason_modal(
            context, "Cancel the hotfix", f"Why cancel {click.value.hotfix}?"
        ),
        "cancel",
    )
