"""Driving the real server the way Slack does, and reading what the bot sent back."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from commands.context import ServiceContext
from standin.slack_client import Reply
from standin.stack import LocalSlackStack
from standin.web_api import RecordedCall

INCIDENT = "C0INCIDENT"
HOME = "C0ECOMMERCE"
ANA, RAJ, LEE, KIM, STRANGER, ADMIN = "U0ANA", "U0RAJ", "U0LEE", "U0KIM", "U0NOBODY", "U0ADMIN"


@contextmanager
def running(ctx: ServiceContext) -> Iterator[Bot]:
    with LocalSlackStack(ctx, admins=[ADMIN]) as stack:
        yield Bot(stack)


def _text_of(call: RecordedCall) -> str:
    parts = [str(call.params.get("text") or "")]
    blocks = call.params.get("blocks")
    if blocks:
        parts.append(json.dumps(blocks, ensure_ascii=False))
    return html.unescape("\n".join(parts))


class Bot:
    def __init__(self, stack: LocalSlackStack) -> None:
        self.stack = stack
        self.slack = stack.slack
        assert stack.driver is not None
        self.driver = stack.driver

    # what people do -----------------------------------------------------------------------
    def command(self, user: str, text: str, channel: str = INCIDENT, **kwargs: Any) -> Reply:
        reply = self.driver.slash_command(user, text, channel_id=channel, **kwargs)
        assert reply.status == 200, reply
        return reply

    def click(
        self,
        user: str,
        action_prefix: str,
        *,
        channel: str = INCIDENT,
        value_contains: str = "",
        **kwargs: Any,
    ) -> Reply:
        found: list[Any] = []

        def present() -> bool:
            message = self.living_message(channel)
            found[:] = [message, find_button(message.blocks, action_prefix, value_contains)]
            return True

        self.wait_until(present, f"a {action_prefix} button ({value_contains}) in {channel}")
        message, element = found
        reply = self.driver.block_action(
            user,
            element["action_id"],
            element.get("value", ""),
            channel,
            message.ts,
            **kwargs,
        )
        assert reply.status == 200, reply
        return reply

    # what the bot did ---------------------------------------------------------------------
    def living_message(self, channel: str = INCIDENT) -> Any:
        messages = [m for m in self.slack.messages(channel) if not m.is_reply]
        assert messages, f"no message in {channel}"
        return messages[-1]

    def living_text(self, channel: str = INCIDENT) -> str:
        message = self.living_message(channel)
        return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)

    def buttons(self, channel: str = INCIDENT) -> set[str]:
        return {
            element["action_id"].split(":")[0]
            for block in self.living_message(channel).blocks
            for element in [*block.get("elements", []), block.get("accessory") or {}]
            if isinstance(element, dict) and element.get("type") == "button"
        }

    def private_replies(self, user: str) -> list[str]:
        calls = self.slack.calls("response_url") + self.slack.calls("chat.postEphemeral")
        return [
            _text_of(call)
            for call in sorted(calls, key=lambda c: c.at)
            if call.params.get("user", user) == user
        ]

    def wait_private(self, user: str, contains: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.private_replies(user):
                if contains in text:
                    return text
            time.sleep(0.02)
        raise AssertionError(
            f"no private reply containing {contains!r}; got {self.private_replies(user)}"
        )

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except AssertionError:
                pass
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_living(self, contains: str, channel: str = INCIDENT) -> str:
        self.wait_until(lambda: contains in self.living_text(channel), f"{contains!r} in {channel}")
        return self.living_text(channel)

    def thread_texts(self, channel: str = INCIDENT) -> list[str]:
        message = self.living_message(channel)
        return [m.text for m in self.slack.thread(channel, message.ts) if m.ts != message.ts]


def find_button(blocks: list[dict[str, Any]], action_prefix: str, value_contains: str = "") -> Any:
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if (
                isinstance(element, dict)
                and str(element.get("action_id", "")).split(":")[0] == action_prefix
                and value_contains in str(element.get("value", ""))
            ):
                return element
    raise AssertionError(f"no button {action_prefix} ({value_contains}) in the message")
