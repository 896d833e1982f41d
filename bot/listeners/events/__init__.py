from __future__ import annotations

from slack_bolt import App

from bot.listeners.events import app_home_opened
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    app.event("app_home_opened")(services.dispatch(app_home_opened.handler(services)))
