"""Keeps each hotfix's living message in step with the database.

One message per hotfix and channel, updated in place; event lines go to its thread. The
database is the truth: a message that could not be posted or updated now (Slack down, rate
limited past the retries) is repaired by the next publish, which compares the revision the
message shows with the hotfix's.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import observe
from bot.views import hotfix_message, thread_line
from commands import hotfixes, queries
from commands.context import ServiceContext
from commands.results import EventLine, HotfixSnapshot

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, ctx: ServiceContext, client: WebClient) -> None:
        self.ctx = ctx
        self.client = client

    def publish(
        self,
        hotfix_ref: str,
        event: EventLine | None = None,
        *,
        origin_channel: str | None = None,
    ) -> HotfixSnapshot:
        """Post or update the living message(s) of a hotfix; add the event to the thread(s)."""
        hotfix = queries.hotfix_status(self.ctx, hotfix_ref)  # the latest, not the caller's copy
        observe.note_hotfix(hotfix.ref)
        known = {message.channel: message for message in hotfix.messages}
        channels = list(known)
        for channel in (origin_channel, hotfix.home_channel):
            if channel and channel not in channels:
                channels.append(channel)
        text, blocks = hotfix_message(hotfix, self.ctx.now())
        for channel in channels:
            message = known.get(channel)
            try:
                if message is None:
                    ts = self._post(channel, text, blocks)
                elif message.shown_revision < hotfix.revision:
                    ts = self._update(channel, message.ts, text, blocks)
                else:
                    ts = message.ts
                hotfixes.remember_message(self.ctx, hotfix.ref, channel, ts, hotfix.revision)
                if event is not None:
                    self.client.chat_postMessage(
                        channel=channel, thread_ts=ts, text=thread_line(hotfix, event)
                    )
            except SlackApiError as error:
                # Left for the next publish to repair; the change itself is already saved.
                log.warning(
                    "could not publish %s in %s: %s",
                    hotfix.ref,
                    channel,
                    error.response.get("error"),
                )
        return hotfix

    def tell_thread(self, hotfix: HotfixSnapshot, text: str) -> None:
        """A line in the thread of every living message of the hotfix (e.g. deployment logs)."""
        for message in hotfix.messages:
            try:
                self.client.chat_postMessage(
                    channel=message.channel, thread_ts=message.ts, text=text
                )
            except SlackApiError as error:
                log.warning(
                    "could not post in %s's thread: %s", hotfix.ref, error.response.get("error")
                )

    def tell_owners(self, hotfix: HotfixSnapshot, text: str) -> None:
        """A direct message to each owner of the hotfix."""
        for owner in hotfix.owners:
            try:
                channel = self.client.conversations_open(users=owner)["channel"]["id"]
                self.client.chat_postMessage(channel=channel, text=text)
            except SlackApiError as error:
                log.warning("could not tell %s: %s", owner, error.response.get("error"))

    def _post(self, channel: str, text: str, blocks: list) -> str:
        response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return str(response["ts"])

    def _update(self, channel: str, ts: str, text: str, blocks: list) -> str:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:
            if error.response.get("error") in ("message_not_found", "cant_update_message"):
                return self._post(channel, text, blocks)  # deleted by someone: post it again
            raise
        return ts
