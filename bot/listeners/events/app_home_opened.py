from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import views
from bot.services import BotServices
from commands import queries, report

HOME_REPORT_DAYS = 30


def handler(services: BotServices) -> Callable[..., None]:
    """The Home tab: every red hotfix, then each application's pipeline."""

    def handle(
        ack: Ack, body: dict[str, Any], event: dict[str, Any], client: WebClient, *_: Any
    ) -> None:
        ack()
        if event.get("tab", "home") != "home":
            return
        red, more_red = queries.red_overview(services.ctx, limit=20)
        apps, more_apps = queries.application_overview(services.ctx, limit=60)
        recent = report.hotfix_report(services.ctx, days=HOME_REPORT_DAYS)
        view = views.home_view(red, apps, services.ctx.now(), more_red, more_apps, recent)
        client.views_publish(user_id=event["user"], view=view)

    return handle
