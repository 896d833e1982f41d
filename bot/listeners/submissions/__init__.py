"""Modal submissions: validated before the ack so that errors show on the field at fault."""

from __future__ import annotations

from slack_bolt import App

from bot import ids
from bot.listeners.submissions import open_hotfix, reason, version
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    app.view(ids.OPEN_MODAL)(services.dispatch(open_hotfix.handler(services), ack_first=False))
    app.view(ids.VERSION_MODAL)(services.dispatch(version.handler(services), ack_first=False))
    app.view(ids.REASON_MODAL)(services.dispatch(reason.handler(services), ack_first=False))
