"""The one path from the outbox to Slack: living messages, thread lines and direct messages.

A change claims its own outbox rows in its transaction; `deliver` sends them right after the
commit (the fast path), rendering the hotfix the operation handed back. `sweep`, run by the
scheduler of every serving process, sends whatever is still undelivered after a crash, a
restart or a Slack outage. Claims are short leases that a heartbeat renews while this process
works on them, so a process that dies frees its rows within one lease.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import observe, views
from bot.views.lifetime_change import change_dismissed, change_message, evidence_line
from bot.views.text import escape, truncate
from commands import lifetime_evidence, lifetime_watch, outbox
from commands.context import ServiceContext
from commands.lifetime_watch import Suggestion
from commands.outbox import Delivered, LineWork, LivingWork, Work
from commands.results import HotfixSnapshot

log = logging.getLogger(__name__)

# Slack answers these when the bot cannot post in a conversation: a DM between other people, a
# private channel it was not invited to, an archived channel. Retrying does not help.
# https://api.slack.com/methods/chat.postMessage#errors
UNREACHABLE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_dm_bot"}
)
GONE = frozenset({"message_not_found", "cant_update_message"})


class Deliverer:
    def __init__(
        self,
        ctx: ServiceContext,
        client: WebClient,
        worker: str,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.worker = worker
        self._busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._renew_while_busy, name="outbox-heartbeat", daemon=True
        )
        self._heartbeat.start()

    def deliver(self, work: Work | None) -> set[str]:
        """Send claimed work, record it, and go on with what arrived for the hotfix meanwhile.

        Returns the conversations the bot could not post the living message in (it is not a
        member, or it is a DM between other people), so the person who acted can be told.
        """
        unreachable: set[str] = set()
        if work is None:
            return unreachable
        with self._lock:
            self._busy += 1
        try:
            while work is not None:
                try:
                    done = self._send(work)
                except Exception:
                    log.exception("delivering %s failed", work.hotfix.ref)
                    done = _all_failed(work)
                unreachable |= done.unreachable
                work = outbox.finish(self.ctx, work, done)
        finally:
            with self._lock:
                self._busy -= 1
        return unreachable

    def sweep(self) -> int:
        """Send what is due and held by nobody: the repair after a crash, restart or outage."""
        claimed = outbox.claim_due(self.ctx, self.worker)
        for work in claimed:
            self.deliver(work)
        return len(claimed) + self.deliver_unattached()

    def deliver_unattached(self) -> int:
        """Send what is due about no hotfix (the LifeTime watch's messages); how many sent."""
        sent = 0
        with self._lock:
            self._busy += 1
        try:
            while (loose := outbox.claim_unattached(self.ctx, self.worker)) is not None:
                done = Delivered()
                for line in loose.lines:
                    self._send_unattached(line, done)
                outbox.finish_unattached(self.ctx, loose, done)
                sent += len(done.sent_lines)
        finally:
            with self._lock:
                self._busy -= 1
        return sent

    def sweep_safely(self) -> None:
        """The scheduled job: a failure is logged and the next sweep tries again."""
        try:
            sent = self.sweep()
            if sent:
                log.info("outbox sweep: delivered for %d hotfix(es)", sent)
        except Exception:
            log.exception("outbox sweep failed")

    def forget_delivered_safely(self) -> None:
        try:
            outbox.forget_delivered(self.ctx)
        except Exception:
            log.exception("forgetting delivered outbox rows failed")

    def stop(self) -> None:
        self._stop.set()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy > 0

    # sending --------------------------------------------------------------------------------
    def _send(self, work: Work) -> Delivered:
        done = Delivered()
        hotfix = work.hotfix
        observe.note_hotfix(hotfix.ref)  # the per-request line names the hotfix it showed
        rendered: tuple[str, list[Any]] | None = None
        ts_of = {message.channel: message.ts for message in work.messages if message.ts}
        due = [
            message
            for message in work.messages
            # Under the claim: only a newer revision than the one shown is ever sent.
            if message.lags and hotfix.revision > message.shown_revision
        ]
        # First posts (their threads need them), then the thread lines, then the updates: once
        # a message shows a change, its thread already tells it.
        for message in [m for m in due if not m.ts]:
            rendered = rendered or _rendered(hotfix, self.ctx.now())
            self._show_one(work, message, rendered, ts_of, done)
        for line in work.lines:
            self._send_line(work, line, ts_of, done)
        for message in [m for m in due if m.ts]:
            rendered = rendered or _rendered(hotfix, self.ctx.now())
            self._show_one(work, message, rendered, ts_of, done)
        return done

    def _show_one(
        self,
        work: Work,
        message: LivingWork,
        rendered: tuple[str, list[Any]],
        ts_of: dict[str, str],
        done: Delivered,
    ) -> None:
        text, blocks = rendered
        ref, channel = work.hotfix.ref, message.channel
        try:
            ts = self._show(channel, message.ts, text, blocks)
            if ts != message.ts:
                outbox.remember_posted(self.ctx, work, channel, ts)
            done.shown[channel] = (ts, work.hotfix.revision)
            ts_of[channel] = ts
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            if reason in UNREACHABLE:
                done.unreachable.add(channel)
            else:
                done.failed_messages.add(channel)
            log.warning("could not show %s in %s: %s", ref, channel, reason)
        except Exception as error:  # Slack unreachable, a timeout: the sweep tries again
            done.failed_messages.add(channel)
            log.warning("could not show %s in %s: %s", ref, channel, error)

    def _send_line(
        self, work: Work, line: LineWork, ts_of: dict[str, str], done: Delivered
    ) -> None:
        try:
            text = self._render(work, line)
            if line.kind == outbox.DIRECT:
                channel = self.client.conversations_open(users=line.channel)["channel"]["id"]
                self.client.chat_postMessage(channel=channel, text=text)
            else:
                ts = ts_of.get(line.channel)
                if ts is None:
                    # No living message to thread under: it comes first (later), or never.
                    if line.channel in done.unreachable:
                        done.dropped_lines.add(line.id)
                    else:
                        done.failed_lines.add(line.id)
                    return
                self.client.chat_postMessage(channel=line.channel, thread_ts=ts, text=text)
            done.sent_lines.add(line.id)
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            if reason in UNREACHABLE:
                done.dropped_lines.add(line.id)
            else:
                done.failed_lines.add(line.id)
            log.warning("could not tell %s to %s: %s", work.hotfix.ref, line.channel, reason)
        except Exception as error:
            done.failed_lines.add(line.id)
            log.warning("could not tell %s to %s: %s", work.hotfix.ref, line.channel, error)

    def _send_unattached(self, line: LineWork, done: Delivered) -> None:
        payload = line.payload
        try:
            if line.kind == outbox.LIFETIME_CHANGE:
                change = Suggestion.of(line.channel, payload)
                if not lifetime_watch.still_worth_telling(self.ctx, change.id):
                    done.dropped_lines.add(line.id)
                    return
                text, blocks = change_message(
                    change.id,
                    change.application,
                    change.environment,
                    change.version,
                    change.modules,
                    change.since,
                )
                answer = self.client.chat_postMessage(
                    channel=line.channel, text=text, blocks=blocks
                )
                # Kept at once, like a living message's first post: the thread line of a
                # dismissal needs it, and a sent message is not sent again.
                lifetime_watch.mark_posted(self.ctx, change.id, line.channel, str(answer["ts"]))
            elif line.kind == outbox.LIFETIME_DISMISSED:
                text = change_dismissed(
                    str(payload["application"]),
                    tuple(payload["modules"]),
                    str(payload["user"]),
                    str(payload["reason"]),
                )
                thread = str(payload.get("thread_ts") or "") or None
                self.client.chat_postMessage(channel=line.channel, thread_ts=thread, text=text)
            else:
                log.error("outbox line %d: unknown kind %s about no hotfix", line.id, line.kind)
                done.dropped_lines.add(line.id)
                return
            done.sent_lines.add(line.id)
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            if reason in UNREACHABLE:
                done.dropped_lines.add(line.id)
            else:
                done.failed_lines.add(line.id)
            log.warning("could not send %s to %s: %s", line.kind, line.channel, reason)
        except Exception as error:
            done.failed_lines.add(line.id)
            log.warning("could not send %s to %s: %s", line.kind, line.channel, error)

    def _render(self, work: Work, line: LineWork) -> str:
        payload = line.payload
        if line.kind == outbox.EVENT:
            return views.thread_line_after(
                outbox.event_of(payload),
                payload.get("next_environment"),
                bool(payload.get("ready_to_solve")),
            )
        if line.kind == outbox.REMINDED:
            at = datetime.fromisoformat(str(payload["at"]))
            return views.reminder_thread_line(work.hotfix, tuple(payload["users"]), at)
        if payload.get("about") == lifetime_evidence.EVIDENCE:
            evidence = lifetime_evidence.evidence_of(payload)
            return evidence_line(
                evidence.hotfix_ref,
                evidence.application,
                evidence.module,
                evidence.environment,
                evidence.at,
            )
        if line.kind == outbox.LOG:
            lines = [f"`{escape(truncate(str(text), 300))}`" for text in payload["lines"]]
            return "📜 " + "\n".join(lines)
        return views.regression_warning(
            work.hotfix,
            str(payload["plan_key"]),
            str(payload["source_environment"]),
            tuple(payload["pending_modules"]),
        )

    def _show(self, channel: str, ts: str, text: str, blocks: list[Any]) -> str:
        if ts:
            try:
                self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return ts
            except SlackApiError as error:
                if error.response.get("error") not in GONE:
                    raise
                # deleted by someone: posted again below
        response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return str(response["ts"])

    def _renew_while_busy(self) -> None:
        every = max(self.ctx.outbox.lease.total_seconds() / 3, 0.2)
        while not self._stop.wait(every):
            if not self.busy:
                continue
            try:
                outbox.renew(self.ctx, self.worker)
            except Exception:
                log.exception("renewing outbox claims failed")


def _rendered(hotfix: HotfixSnapshot, now: datetime) -> tuple[str, list[Any]]:
    """The living message with its blocks turned into JSON-ready dicts once (slack-sdk checks
    and converts Block objects at every call; the message may go to several channels)."""
    text, blocks = views.hotfix_message(hotfix, now)
    return text, [block.to_dict() for block in blocks]


def _all_failed(work: Work) -> Delivered:
    """Everything claimed goes back with a back-off (never straight back to this loop)."""
    return Delivered(
        failed_messages={message.channel for message in work.messages},
        failed_lines={line.id for line in work.lines},
    )
