from __future__ import annotations

from collections.abc import Callable

from bot import views
from bot.listeners.actions.modal_buttons import modal_opener
from bot.services import BotServices


def handler(services: BotServices) -> Callable[..., None]:
    """Mark deploy failed…: asks the approver what happened to the deployment."""
    return modal_opener(
        lambda click, context: views.reason_modal(
            context,
            "Mark deploy failed",
            f"What happened to {click.value.hotfix}'s deployment? The bot stops following it; "
            "the hotfix goes back to open with Tag & Deploy offered again.",
        ),
        "deploy_failed",
    )
