from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import views
from bot.services import BotServices
from commands import queries


def handler(services: BotServices) -> Callable[..., None]:
    """The Home tab: every red hotfix, then each application's pipeline."""

    def handle(
        ack: Ack, body: dict[str, Any], event: dict[str, Any], client: WebClient, *_: Any
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        view = views.home_view(
            queries.red_hotfixes(services.ctx),
            queries.applications(services.ctx),
            services.ctx.now(),
        )
        client.views_publish(user_id=event["user"], view=view)

    return handle
