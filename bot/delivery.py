"""The one path from the outbox to Slack: living messages, thread lines and direct messages.

A change claims its own outbox rows in its transaction; `deliver` sends them right after the
commit (the fast path), rendering the hotfix the operation handed back. `sweep`, run by the
scheduler of every serving process, sends whatever is still undelivered after a crash, a
restart or a Slack outage. Claims are short leases that a heartbeat renews while this process
works on them, so a process that dies frees its rows within one lease.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.metadata import Metadata

from bot import metrics, observe, views
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

# Every post made from the outbox carries message metadata naming what it delivers, so that a
# delivery that may already have happened (a process killed after the post, before recording
# it) is looked up in Slack instead of posted twice. The format is Slack's message metadata:
# {"event_type": str, "event_payload": {str: str | number | bool | ...}}
# (https://docs.slack.dev/messaging/message-metadata; slack_sdk.models.metadata.Metadata), read
# back with include_all_metadata (https://docs.slack.dev/reference/methods/conversations.history,
# https://docs.slack.dev/reference/methods/conversations.replies).
DELIVERY_EVENT = "hotfix_bot_delivery"
LIVING_MESSAGE = "living_message"
# How far before a row's creation the read-back starts: the clocks of this process and of
# Slack differ a little.
CLOCK_MARGIN = timedelta(minutes=10)
READ_PAGE = 200


def line_metadata(line: LineWork) -> Metadata:
    return Metadata(event_type=DELIVERY_EVENT, event_payload={"outbox": line.id, "kind": line.kind})


def living_metadata(hotfix_ref: str) -> Metadata:
    return Metadata(
        event_type=DELIVERY_EVENT, event_payload={"hotfix": hotfix_ref, "kind": LIVING_MESSAGE}
    )


def _key(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True)


class LeaseRunningOut(Exception):
    """This process may soon no longer hold its claim (renewals did not get through)."""


class ReadBack:
    """What the bot already posted from the outbox, read from Slack at most once per
    conversation or thread in one delivery (several lines of one thread cost one read).

    `fence` is called before every post: a process whose lease may have passed on must not
    post, for the next holder may read Slack before that post lands and send the row too.
    """

    def __init__(self, client: WebClient, fence: Callable[[], None] = lambda: None) -> None:
        self.client = client
        self.fence = fence
        self._seen: dict[tuple[str, str | None], tuple[datetime | None, dict[str, str]]] = {}

    def posted(
        self, channel: str, thread_ts: str | None, since: datetime | None, metadata: Metadata
    ) -> str | None:
        """The ts of the message carrying `metadata` in the thread `thread_ts` (or, without
        one, among the conversation's messages since `since`), or None. Slack's errors raise."""
        where = (channel, thread_ts)
        cached = self._seen.get(where)
        if cached is None or (
            thread_ts is None and since is not None and (cached[0] is None or since < cached[0])
        ):
            cached = (since, self._read(channel, thread_ts, since))
            self._seen[where] = cached
        return cached[1].get(_key(metadata.event_payload))

    def _read(self, channel: str, thread_ts: str | None, since: datetime | None) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: str | None = None
        oldest = f"{(since - CLOCK_MARGIN).timestamp():.6f}" if since is not None else None
        while True:
            if thread_ts is not None:
                try:
                    response = self.client.conversations_replies(
                        channel=channel,
                        ts=thread_ts,
                        include_all_metadata=True,
                        limit=READ_PAGE,
                        cursor=cursor,
                    )
                except SlackApiError as error:
                    # The thread's parent is gone (deleted by someone): nothing was kept there.
                    if error.response.get("error") == "thread_not_found":
                        return found
                    raise
            else:
                response = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    inclusive=True,
                    include_all_metadata=True,
                    limit=READ_PAGE,
                    cursor=cursor,
                )
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == DELIVERY_EVENT:
                    found[_key(metadata.get("event_payload") or {})] = str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return found


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
        # When the last renewal of this process's claims began (time.monotonic()).
        self._renewed_at = time.monotonic()
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
                taken = time.monotonic()
                try:
                    done = self._send(work, ReadBack(self.client, self._fence(taken)))
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
                read_back = ReadBack(self.client, self._fence(time.monotonic()))
                for line in loose.lines:
                    self._send_unattached(line, done, read_back)
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
    def _fence(self, taken: float) -> Callable[[], None]:
        """A check before each post of a delivery whose rows were claimed at about `taken`:
        the lease runs from the claim or from the last renewal that began after it, by this
        process's own clock (no database round trip). With less than a quarter of it left,
        renewals are not getting through and posting stops; the rows go back to the sweep."""
        lease = self.ctx.outbox.lease.total_seconds()

        def check() -> None:
            left = max(taken, self._renewed_at) + lease - time.monotonic()
            if left < lease / 4:
                raise LeaseRunningOut(f"{left:.1f}s of the claim's lease left")

        return check

    def _send(self, work: Work, read_back: ReadBack) -> Delivered:
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
            self._show_one(work, message, rendered, ts_of, done, read_back)
        for line in work.lines:
            self._send_line(work, line, ts_of, done, read_back)
        for message in [m for m in due if m.ts]:
            rendered = rendered or _rendered(hotfix, self.ctx.now())
            self._show_one(work, message, rendered, ts_of, done, read_back)
        return done

    def _show_one(
        self,
        work: Work,
        message: LivingWork,
        rendered: tuple[str, list[Any]],
        ts_of: dict[str, str],
        done: Delivered,
        read_back: ReadBack,
    ) -> None:
        text, blocks = rendered
        ref, channel = work.hotfix.ref, message.channel
        try:
            shown_ts = message.ts
            if message.maybe_posted:
                # An earlier delivery may have posted it and died before keeping the ts: found,
                # that message is brought up to date instead of a second one posted.
                found = read_back.posted(channel, None, work.hotfix.opened_at, living_metadata(ref))
                if found is not None:
                    log.info("%s was already posted in %s (%s): updating it", ref, channel, found)
                    shown_ts = found
            read_back.fence()
            ts = self._show(channel, shown_ts, text, blocks, living_metadata(ref))
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
        self,
        work: Work,
        line: LineWork,
        ts_of: dict[str, str],
        done: Delivered,
        read_back: ReadBack,
    ) -> None:
        if line.kind in (outbox.NUDGE, outbox.ESCALATION):
            self._send_reminder(work, line, ts_of, done, read_back)
            return
        metadata = line_metadata(line)
        try:
            text = self._render(work, line)
            if line.kind == outbox.DIRECT:
                channel = self.open_dm(line.channel)
                if line.maybe_sent and read_back.posted(channel, None, line.created_at, metadata):
                    done.sent_lines.add(line.id)  # sent before the last process could say so
                    return
                read_back.fence()
                self.client.chat_postMessage(channel=channel, text=text, metadata=metadata)
            else:
                ts = ts_of.get(line.channel)
                if ts is None:
                    # No living message to thread under: it comes first (later), or never.
                    if line.channel in done.unreachable:
                        done.dropped_lines.add(line.id)
                    else:
                        done.failed_lines.add(line.id)
                    return
                if line.maybe_sent and read_back.posted(line.channel, ts, None, metadata):
                    done.sent_lines.add(line.id)  # sent before the last process could say so
                    return
                read_back.fence()
                self.client.chat_postMessage(
                    channel=line.channel, thread_ts=ts, text=text, metadata=metadata
                )
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

    def _send_reminder(
        self,
        work: Work,
        line: LineWork,
        ts_of: dict[str, str],
        done: Delivered,
        read_back: ReadBack,
    ) -> None:
        """A reminder round's DM or escalation, rendered from the hotfix as it stands and the
        round's time (a DM sent again after a crash reads the same, so doubles can be seen)."""
        hotfix, at = work.hotfix, datetime.fromisoformat(str(line.payload["at"]))
        if not hotfix.red:
            # Solved or cancelled since the round was recorded: nobody needs reminding now.
            done.dropped_lines.add(line.id)
            return
        result = "sent"
        metadata = line_metadata(line)
        try:
            if line.kind == outbox.NUDGE:
                channel = self.open_dm(line.channel)
                if line.maybe_sent and read_back.posted(channel, None, line.created_at, metadata):
                    done.sent_lines.add(line.id)  # sent before the last process could say so
                    return
                text, blocks = views.nudge_message(hotfix, at, self._link(work, ts_of))
                read_back.fence()
                self.client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, metadata=metadata
                )
            else:
                result = "escalated"
                if line.maybe_sent and read_back.posted(
                    line.channel, None, line.created_at, metadata
                ):
                    done.sent_lines.add(line.id)
                    return
                usergroup = line.payload.get("usergroup")
                text = views.escalation_message(
                    hotfix, at, int(line.payload["unanswered"]), usergroup and str(usergroup)
                )
                read_back.fence()
                self.client.chat_postMessage(channel=line.channel, text=text, metadata=metadata)
            done.sent_lines.add(line.id)
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            if reason in UNREACHABLE:
                done.dropped_lines.add(line.id)
            else:
                done.failed_lines.add(line.id)
            result = "failed"
            log.warning("%s of %s to %s failed: %s", line.kind, hotfix.ref, line.channel, reason)
        except Exception as error:
            done.failed_lines.add(line.id)
            result = "failed"
            log.warning("%s of %s to %s failed: %s", line.kind, hotfix.ref, line.channel, error)
        metrics.REMINDERS.labels(result).inc()

    def _link(self, work: Work, ts_of: dict[str, str]) -> str | None:
        """The living message's permalink for a nudge's button (one posted in this very
        delivery counts); none if there is none yet or Slack will not say."""
        posted = [(m.channel, ts_of[m.channel]) for m in work.messages if ts_of.get(m.channel)]
        if not posted:
            return None
        channel, ts = posted[0]
        try:
            answer = self.client.chat_getPermalink(channel=channel, message_ts=ts)
            return str(answer["permalink"])
        except SlackApiError:
            return None

    def open_dm(self, user: str) -> str:
        """The bot's direct-message conversation with `user` (a stable id, which chat.update
        needs, unlike posting to the user id)."""
        return open_dm(self.client, user)

    def _send_unattached(self, line: LineWork, done: Delivered, read_back: ReadBack) -> None:
        payload = line.payload
        metadata = line_metadata(line)
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
                found = None
                if line.maybe_sent:
                    found = read_back.posted(line.channel, None, line.created_at, metadata)
                if found is None:
                    read_back.fence()
                    answer = self.client.chat_postMessage(
                        channel=line.channel, text=text, blocks=blocks, metadata=metadata
                    )
                    found = str(answer["ts"])
                # Kept at once, like a living message's first post: the thread line of a
                # dismissal needs it, and a sent message is not sent again.
                lifetime_watch.mark_posted(self.ctx, change.id, line.channel, found)
            elif line.kind == outbox.LIFETIME_DISMISSED:
                text = change_dismissed(
                    str(payload["application"]),
                    tuple(payload["modules"]),
                    str(payload["user"]),
                    str(payload["reason"]),
                )
                thread = str(payload.get("thread_ts") or "") or None
                if line.maybe_sent and read_back.posted(
                    line.channel, thread, line.created_at, metadata
                ):
                    done.sent_lines.add(line.id)  # sent before the last process could say so
                    return
                read_back.fence()
                self.client.chat_postMessage(
                    channel=line.channel, thread_ts=thread, text=text, metadata=metadata
                )
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

    def _show(self, channel: str, ts: str, text: str, blocks: list[Any], metadata: Metadata) -> str:
        if ts:
            try:
                self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return ts
            except SlackApiError as error:
                if error.response.get("error") not in GONE:
                    raise
                # deleted by someone: posted again below
        response = self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, metadata=metadata
        )
        return str(response["ts"])

    def _renew_while_busy(self) -> None:
        every = max(self.ctx.outbox.lease.total_seconds() / 3, 0.2)
        while not self._stop.wait(every):
            if not self.busy:
                continue
            began = time.monotonic()
            try:
                outbox.renew(self.ctx, self.worker)
                self._renewed_at = max(self._renewed_at, began)
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


# Answers to one person's request, sent here too so that this module alone talks to Slack for
# outgoing messages. They are not outbox rows: they record no change of state, and they answer
# someone who is waiting now (a retry minutes later, after a crash, would answer nobody).


def open_dm(client: WebClient, user: str) -> str:
    """conversations.open with one user gives the id of the bot's DM with them
    (https://docs.slack.dev/reference/methods/conversations.open)."""
    return str(client.conversations_open(users=user)["channel"]["id"])


def answer_privately(
    client: WebClient, channel: str | None, user: str, text: str, blocks: list[Any] | None
) -> None:
    """An ephemeral message in `channel` to `user`, or a DM where there is no channel."""
    if channel:
        client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
    else:
        client.chat_postMessage(channel=user, text=text, blocks=blocks)


def share_report(
    client: WebClient,
    channel: str,
    text: str,
    blocks: list[Any],
    chart: bytes,
    filename: str,
    title: str,
    alt_text: str,
    *,
    on_posted: Callable[[], None] = lambda: None,
) -> None:
    """The report's figures as a message, then its chart as a file shared in the channel
    (slack-sdk's files_upload_v2). `on_posted` runs between the two, so a failed upload
    after a posted message can be told apart."""
    client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    on_posted()
    client.files_upload_v2(
        channel=channel, file=chart, filename=filename, title=title, alt_txt=alt_text
    )
