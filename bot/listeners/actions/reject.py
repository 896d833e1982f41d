from __future__ import annotations

from collections.abc import Callable

from bot import views
from bot.listeners.actions.modal_buttons import modal_opener
from bot.services import BotServices


def handler(services: BotServices) -> Callable[..., None]:
    """Reject…: asks the approver why."""
    return modal_opener(
        lambda click, context: views.reason_modal(
            context, "Reject Tag & Deploy", f"Why reject {click.value.hotfix}'s Tag & Deploy?"
        ),
        "reject",
    )
