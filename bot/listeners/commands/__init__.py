from __future__ import annotations

from slack_bolt import App

from bot.listeners.commands.hotfix import hotfix_command
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    app.command("/hotfix")(services.dispatch(hotfix_command(services)))
