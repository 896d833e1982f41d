from __future__ import annotations

from collections.abc import Callable

from bot import views
from bot.listeners.actions.modal_buttons import modal_opener
from bot.services import BotServices


def handler(services: BotServices) -> Callable[..., None]:
    """Skip…: a module that does not need the fix in one environment, with a reason."""
    return modal_opener(
        lambda click, context: views.reason_modal(
            context,
            "Skip a module",
            f"Why does {click.value.module} not need {click.value.hotfix} "
            f"in {click.value.environment}?",
        ),
        "skip",
    )
