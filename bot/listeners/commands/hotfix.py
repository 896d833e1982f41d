"""`/hotfix <subcommand>`: acknowledge, parse, run one subcommand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot import grammar
from bot.listeners.commands import subcommands
from bot.services import BotServices


def hotfix_command(services: BotServices) -> Callable[..., None]:
    handlers = subcommands.handlers()

    def handle(
        ack: Ack, body: dict[str, Any], command: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        request = grammar.parse(command.get("text", ""))
        handlers[request.name](services, request, command, respond, client)

    return handle
