"""What every button handler reads from a block_actions payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.ids import ButtonValue, ModalContext


@dataclass(frozen=True)
class Click:
    user: str
    value: ButtonValue
    channel: str
    message_ts: str
    trigger_id: str
    request_key: str

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        user = body["user"]["id"]
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        return cls(
            user=user,
            value=ButtonValue.decode(action.get("value", "")),
            channel=channel,
            message_ts=container.get("message_ts", ""),
            trigger_id=body.get("trigger_id", ""),
            # A retry of the same click carries the same action_ts; a second click does not.
            request_key=f"action:{user}:{action.get('action_id')}:{action.get('action_ts')}",
        )

    def modal_context(self, purpose: str) -> ModalContext:
        return ModalContext(
            purpose,
            hotfix=self.value.hotfix,
            environment=self.value.environment,
            module=self.value.module,
            channel=self.channel,
            message_ts=self.message_ts,
        )
