"""Every listener, one folder per kind, each with a `register(app, services)`."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, submissions
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    commands.register(app, services)
    actions.register(app, services)
    submissions.register(app, services)
    events.register(app, services)
