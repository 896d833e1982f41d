from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.listeners.actions.clicks import Click
from bot.services import BotServices
from commands import deployments

STEER = {
    "continue": deployments.continue_deployment,
    "abort": deployments.abort_deployment,
    "retry": deployments.retry_deployment,
}


def handler(services: BotServices, command: str) -> Callable[..., None]:
    """Continue, Abort or Retry a running deployment (approvers)."""

    def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], *_: Any) -> None:
        ack()
        click = Click.of(body, action)
        news = STEER[command](services.ctx, services.actor(click.user), click.value.hotfix)
        services.deliverer.deliver(news.work)

    return handle
