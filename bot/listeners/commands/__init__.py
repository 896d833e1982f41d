from __future__ import annotations

from slack_bolt import App

from bot.errors import guarded
from bot.listeners.commands.hotfix import hotfix_command
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    app.command("/hotfix")(guarded(hotfix_command(services)))
