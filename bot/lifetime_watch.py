"""The scheduled LifeTime watch in the serving process: poll, then tell the home channels.

The domain (what LifeTime says, what is worth telling, back-off) is commands.lifetime_watch;
this only sends. Evidence (the living message's new revision, the owners' direct messages) is
recorded in the outbox with the observation and sent by the Deliverer like every other change.
A suggestion is its own outbox row: stored with the observation, unposted until Slack took it,
posted by the next round when a send failed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery import Deliverer
from bot.views.lifetime_change import change_dismissed, change_message
from commands import lifetime_watch
from commands.context import ServiceContext
from commands.lifetime_watch import LifeTimeWatch, Suggestion

log = logging.getLogger(__name__)


def send_change(client: WebClient, suggestion: Suggestion) -> str:
    """Post the message about an untagged change in its home channel; returns its ts."""
    text, blocks = change_message(
        suggestion.id,
        suggestion.application,
        suggestion.environment,
        suggestion.version,
        suggestion.modules,
        suggestion.since,
    )
    answer = client.chat_postMessage(channel=suggestion.channel, text=text, blocks=blocks)
    return str(answer["ts"])


def tell_dismissed(
    client: WebClient, message_ts: str, suggestion: Suggestion, user: str, reason: str
) -> None:
    """Who said *Not a hotfix* and why, in the message's thread."""
    text = change_dismissed(suggestion.application, suggestion.modules, user, reason)
    try:
        client.chat_postMessage(channel=suggestion.channel, thread_ts=message_ts or None, text=text)
    except SlackApiError as error:
        log.warning("could not say the change was dismissed: %s", error.response.get("error"))


class LifeTimeWatcher:
    def __init__(self, ctx: ServiceContext, deliverer: Deliverer, every: timedelta) -> None:
        self.ctx = ctx
        self.deliverer = deliverer
        self.client = deliverer.client
        self.watch = LifeTimeWatch(ctx, every)

    def run(self) -> list[Suggestion]:
        """One round: ask LifeTime, store what it says, tell each new change once."""
        report = self.watch.poll()
        for work in report.works:  # evidence on the items and the owners' DMs: the fast path
            self.deliverer.deliver(work)
        fresh = {s.id: s for s in report.suggestions}
        for earlier in lifetime_watch.unposted_suggestions(self.ctx):
            fresh.setdefault(earlier.id, earlier)
        told = []
        for suggestion in fresh.values():
            try:
                ts = send_change(self.client, suggestion)
            except SlackApiError as error:
                # Stored unposted: the next round tries again, without asking LifeTime again.
                log.warning(
                    "could not tell %s about LifeTime changes: %s",
                    suggestion.channel,
                    error.response.get("error"),
                )
                continue
            lifetime_watch.mark_posted(self.ctx, suggestion.id, suggestion.channel, ts)
            told.append(suggestion)
        return told

    def run_safely(self) -> None:
        """The scheduled job: a failed round is logged and the next one tries again."""
        try:
            self.run()
        except Exception:
            log.exception("LifeTime watch round failed")

    def problems(self) -> dict[str, str]:
        return self.watch.problems()
