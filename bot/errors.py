"""The single error handler: typed domain errors become ephemeral messages; crashes are logged."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.grammar import GrammarError
from bot.replies import tell
from bot.views import error_reply, help_reply
from commands.errors import AlreadyApplied, DomainError

log = logging.getLogger(__name__)


def handle_error(
    error: Exception,
    body: dict[str, Any],
    client: WebClient,
    context: dict[str, Any],
    respond: Callable[..., Any] | None = None,
) -> None:
    if isinstance(error, AlreadyApplied):
        if context.get("is_retry"):
            log.info("ignored a Slack retry of a request already applied")
            return
        tell(body, client, respond, *error_reply("That was already done."))
        return
    if isinstance(error, GrammarError):
        if error.show_help:
            tell(body, client, respond, *help_reply(error.suggestion, error.unknown))
        else:
            tell(body, client, respond, *error_reply(error.message))
        return
    if isinstance(error, DomainError):
        tell(body, client, respond, *error_reply(_sentence(error.message)))
        return
    incident = uuid.uuid4().hex[:8]
    log.error("unexpected error %s", incident, exc_info=error)
    tell(
        body,
        client,
        respond,
        *error_reply(
            f"Something went wrong on my side (error {incident}). "
            "Check `/hotfix status` before trying again."
        ),
    )


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
