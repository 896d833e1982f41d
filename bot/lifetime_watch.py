"""The scheduled LifeTime watch in the serving process: poll, then tell the home channels.

The domain (what LifeTime says, what is worth telling, back-off) is commands.lifetime_watch;
this only sends. Sending is one small function, :func:`send_change`, so that it can move into
the delivery path (an outbox) without touching the rest.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.publisher import Publisher
from bot.views.lifetime_change import change_dismissed, change_message
from commands import lifetime_watch
from commands.context import ServiceContext
from commands.lifetime_evidence import Evidence
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


def send_evidence(client: WebClient, evidence: Evidence) -> None:
    """Tell a hotfix's owners, by DM, that LifeTime shows a new version of one of its modules."""
    text = (
        f"👀 {evidence.hotfix_ref} · {evidence.application}: LifeTime shows a new "
        f"{evidence.module} published in {evidence.environment} {evidence.at:%H:%M} UTC. "
        "If that is the fix, confirm it with *Merged* on the hotfix message."
    )
    for owner in evidence.owners:
        try:
            channel = client.conversations_open(users=owner)["channel"]["id"]
            client.chat_postMessage(channel=channel, text=text)
        except SlackApiError as error:
            log.warning("could not tell %s about evidence: %s", owner, error.response.get("error"))


class LifeTimeWatcher:
    def __init__(self, ctx: ServiceContext, publisher: Publisher, every: timedelta) -> None:
        self.ctx = ctx
        self.publisher = publisher
        self.client = publisher.client
        self.watch = LifeTimeWatch(ctx, every)

    def run(self) -> list[Suggestion]:
        """One round: ask LifeTime, store what it says, tell each new change once."""
        report = self.watch.poll()
        for ref in dict.fromkeys(e.hotfix_ref for e in report.evidence):
            self.publisher.publish(ref)  # the evidence shows on the checklist items
        for evidence in report.evidence:
            send_evidence(self.client, evidence)
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
