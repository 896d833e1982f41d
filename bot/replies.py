"""Answering one person privately, wherever the request came from."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot import delivery
from bot.ids import ModalContext

log = logging.getLogger(__name__)


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(body.get("user_id", ""))


def channel_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    if body.get("channel_id"):
        return str(body["channel_id"])
    container = body.get("container") or {}
    if container.get("channel_id"):
        return str(container["channel_id"])
    view = body.get("view") or {}
    metadata = view.get("private_metadata")
    if metadata:
        return ModalContext.decode(metadata).channel or None
    return None


def tell(
    body: dict[str, Any],
    client: WebClient,
    respond: Callable[..., Any] | None,
    text: str,
    blocks: Sequence[Block] | None = None,
) -> None:
    """An ephemeral message to the person who acted (a DM where there is no channel)."""
    rendered = [b.to_dict() for b in blocks] if blocks else None
    try:
        if respond is not None and body.get("response_url"):
            respond(text=text, blocks=rendered, response_type="ephemeral", replace_original=False)
            return
        delivery.answer_privately(client, channel_of(body), user_of(body), text, rendered)
    except SlackApiError as error:
        log.warning("could not answer %s: %s", user_of(body), error.response.get("error"))
