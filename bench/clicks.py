"""Living messages for the hotfixes the benchmark clicks, posted by the product's own deliverer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from slack_sdk import WebClient

from bench.load import Click
from bench.seed import RedHotfix
from bot.delivery import Deliverer
from bot.ids import MERGED, ButtonValue
from commands import outbox
from commands.context import ServiceContext
from standin.web_api import FakeSlackWebApi
from storage.repository import Database


def _elements(blocks: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory")]:
            if isinstance(element, dict):
                yield element


def merged_buttons(blocks: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The Merged buttons of a living message, by module name."""
    return {
        ButtonValue.decode(str(element.get("value", ""))).module: element
        for element in _elements(blocks)
        if str(element.get("action_id", "")).split(":")[0] == MERGED
    }


def publish_and_find_clicks(
    database: Database, fake: FakeSlackWebApi, hotfixes: Sequence[RedHotfix]
) -> list[Click]:
    """Post each hotfix's living message in its application's channel (through the product's
    outbox and deliverer, which remember it in the database) and return one Click per Merged button,
    every hotfix's first module before any second one, so that consecutive clicks hit
    different hotfixes."""
    ctx = ServiceContext(database, worker="bench-seed")
    deliverer = Deliverer(
        ctx, WebClient(token="xoxb-bench-seed", base_url=fake.base_url), "bench-seed"
    )
    per_hotfix: list[list[Click]] = []
    for hotfix in hotfixes:
        deliverer.deliver(outbox.show(ctx, hotfix.ref))
        posted = [m for m in fake.messages(hotfix.home_channel) if not m.is_reply]
        if not posted:
            raise RuntimeError(f"no living message was posted for {hotfix.ref}")
        message = posted[-1]
        buttons = merged_buttons(message.blocks)
        per_hotfix.append(
            [
                Click(
                    ref=hotfix.ref,
                    module=module,
                    action_id=str(buttons[module]["action_id"]),
                    value=str(buttons[module]["value"]),
                    channel=hotfix.home_channel,
                    ts=message.ts,
                    user=hotfix.owner,
                )
                for module in hotfix.modules
                if module in buttons
            ]
        )
    rounds = max((len(clicks) for clicks in per_hotfix), default=0)
    return [clicks[m] for m in range(rounds) for clicks in per_hotfix if m < len(clicks)]
