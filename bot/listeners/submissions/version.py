from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.listeners.submissions.form import Submission, apply_or_show_error
from bot.services import BotServices
from commands import hotfixes


def handler(services: BotServices) -> Callable[..., None]:
    """Tag & Deploy with another version."""

    def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any], *_: Any) -> None:
        form = Submission.of(body, view)
        apply_or_show_error(
            ack,
            services,
            ids.VERSION_INPUT[0],
            lambda: hotfixes.request_deploy(
                services.ctx,
                services.actor(form.user),
                form.context.hotfix,
                form.text(ids.VERSION_INPUT),
                request_key=form.request_key,
            ),
        )

    return handle
