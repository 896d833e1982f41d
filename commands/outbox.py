"""What Slack must show, recorded in the transaction of the change: the transactional outbox.

Every change says, in its own transaction, which revision each living message of the hotfix
should show (`hotfix_message.wanted_revision`) and which lines must still be told (table
`outbox`: thread lines of events, deployment logs, direct messages). The content is domain
data (the event, the log lines); the bot renders Block Kit when it delivers. Nothing here knows
Slack.

Delivery claims a hotfix's rows together (a lease, like reminders), so one process at a time
talks to Slack about one hotfix: a click during the first post of its message does not post a
second one, and a living message only moves forward (it is sent only when the revision to show
is newer than the one it shows, compared under the claim). The process that made the change
claims its rows in the change's transaction and sends them right after the commit (the fast
path); the sweep of every serving process sends what is left after a crash, a restart or an
outage.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commands.context import OutboxPolicy, ServiceContext
from commands.errors import NotFound
from commands.lifecycle import HotfixState
from commands.refs import format_hotfix_ref, parse_hotfix_ref
from commands.results import EventLine, HotfixSnapshot
from commands.snapshots import hotfix_snapshots
from storage.models import Application, Hotfix, Message, Outbox
from storage.repository import Repository

EVENT = "event"  # an event line in the thread of the living message
LOG = "log"  # deployment log lines in the thread
WARNING = "warning"  # a regression warning in the thread
DIRECT = "dm"  # a direct message to a person (channel holds the user id)
REMINDED = "reminded"  # who a reminder round nudged, in the thread
# A reminder round's messages, written in the transaction that advances the reminder, so a
# round is sent once (the sweep after a crash) and never twice (the reminder moved on with it):
NUDGE = "nudge"  # a reminder to one person by DM (channel holds the user id)
ESCALATION = "escalation"  # a top-level post in a channel: the reminders went unanswered
# Lines about no hotfix (hotfix_id None), claimed line by line rather than hotfix by hotfix:
LIFETIME_CHANGE = "lifetime_change"  # the watch's message with Open hotfix / Not a hotfix…
LIFETIME_DISMISSED = "lifetime_dismissed"  # who said Not a hotfix and why, in its thread


@dataclass(frozen=True)
class LivingWork:
    """One living message under claim: where it is and the revisions shown and wanted."""

    channel: str
    ts: str  # "" until posted
    shown_revision: int
    wanted_revision: int
    # Not posted as far as the database knows, but an earlier delivery took it: it may have
    # posted and died before keeping the ts, so Slack is read before posting.
    maybe_posted: bool = False

    @property
    def lags(self) -> bool:
        return self.wanted_revision > self.shown_revision


@dataclass(frozen=True)
class LineWork:
    id: int
    channel: str
    kind: str
    payload: dict[str, Any]
    # An earlier delivery took this line: it may have sent it and died (or lost Slack's answer)
    # before recording it, so Slack is read before sending. First sends skip that read.
    maybe_sent: bool = False
    created_at: datetime | None = None  # nothing of it can be in Slack before this


@dataclass(frozen=True)
class Work:
    """Everything one process must tell Slack about one hotfix now, and the hotfix to render."""

    hotfix: HotfixSnapshot
    messages: tuple[LivingWork, ...]
    lines: tuple[LineWork, ...]
    claim: str  # whose rows these are: the process's worker name and this one delivery


@dataclass
class Delivered:
    """What a deliverer did with its Work."""

    shown: dict[str, tuple[str, int]] = field(default_factory=dict)  # channel -> (ts, revision)
    failed_messages: set[str] = field(default_factory=set)
    unreachable: set[str] = field(default_factory=set)  # channels the bot cannot post in
    sent_lines: set[int] = field(default_factory=set)
    failed_lines: set[int] = field(default_factory=set)
    dropped_lines: set[int] = field(default_factory=set)  # undeliverable for good


def event_payload(hotfix: HotfixSnapshot, event: EventLine) -> dict[str, Any]:
    """The event and where the hotfix stood right after it (the thread line says what's next)."""
    return {
        "event": {
            "at": event.at.isoformat(),
            "actor": event.actor,
            "kind": event.kind,
            "details": event.details,
        },
        "next_environment": (
            hotfix.active_environment if hotfix.state is HotfixState.PROPAGATING else None
        ),
        "ready_to_solve": hotfix.ready_to_solve,
    }


def event_of(payload: Mapping[str, Any]) -> EventLine:
    raw = payload["event"]
    return EventLine(
        at=datetime.fromisoformat(raw["at"]),
        actor=raw["actor"],
        kind=raw["kind"],
        details=dict(raw["details"]),
    )


def record(
    ctx: ServiceContext,
    repository: Repository,
    hotfix: Hotfix,
    app: Application,
    snapshot: HotfixSnapshot,
    now: datetime,
    *,
    event: EventLine | None = None,
    lines: Sequence[tuple[str, dict[str, Any]]] = (),
    direct: Sequence[tuple[str, dict[str, Any]]] = (),
    addressed: Sequence[tuple[str, str, dict[str, Any]]] = (),
    origin_channel: str | None = None,
) -> Work | None:
    """Write what Slack must show after this change; claim it for `ctx.worker` when it can.

    `lines`: (kind, payload) for the thread of every living message, before the event line;
    `direct`: (user, payload) for direct messages; `addressed`: (kind, channel or user,
    payload) for messages of another kind sent to one conversation, not a thread. Returns the
    claimed work for the fast path, or None when another process holds this hotfix's delivery
    (it picks the new rows up when it finishes) or nobody delivers right away (the CLI).
    """
    hotfix_id = snapshot.id
    messages, pending = repository.outbox_of(hotfix_id)
    by_channel = {row.channel: row for row in messages}
    for channel in (origin_channel, app.home_channel):
        if channel and channel not in by_channel:
            by_channel[channel] = Message(hotfix_id=hotfix_id, channel=channel, ts="")
    for row in by_channel.values():
        if row.wanted_revision < snapshot.revision or row.ts == "":
            row.wanted_revision = max(row.wanted_revision, snapshot.revision)
            row.attempts = 0
            row.next_attempt_at = now
        repository.add(row)
    told = [(EVENT, event_payload(snapshot, event))] if event is not None else []
    # Each thread line goes to every living message: its JSON is written once, not per channel.
    threaded = [(kind, json.dumps(payload, sort_keys=True)) for kind, payload in [*lines, *told]]

    def line(channel: str, kind: str, payload: str) -> Outbox:
        return Outbox(
            hotfix_id=hotfix_id,
            channel=channel,
            kind=kind,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )

    new_lines = [
        *(line(channel, kind, payload) for kind, payload in threaded for channel in by_channel),
        *(line(user, DIRECT, json.dumps(payload, sort_keys=True)) for user, payload in direct),
        *(
            line(channel, kind, json.dumps(payload, sort_keys=True))
            for kind, channel, payload in addressed
        ),
    ]
    rows = list(by_channel.values())
    if ctx.worker is None or _held_by_another(rows, pending, None, now):
        repository.insert_outbox(new_lines)
        repository.flush()
        return None
    claim = new_claim(ctx.worker)
    until = now + ctx.outbox.lease
    # New lines are written already claimed, in one INSERT with the others.
    claimables: list[Message | Outbox] = [*rows, *pending, *new_lines]
    for claimable in claimables:
        claimable.claimed_by = claim
        claimable.claimed_until = until
        claimable.claims += 1
    repository.add_all([*rows, *pending])
    repository.insert_outbox(new_lines)
    repository.flush()
    return _work(snapshot, rows, [*pending, *new_lines], claim)


def show(ctx: ServiceContext, hotfix_ref: str, channel: str | None = None) -> Work | None:
    """Ask for a hotfix's living message in its application's channel and in `channel`
    (posted if missing, brought up to date if behind): for a hotfix created outside the bot,
    or by DM to someone who opened it where the bot cannot post."""
    hotfix_id = parse_hotfix_ref(hotfix_ref)
    with ctx.db.write() as repository:
        hotfix = repository.hotfix(hotfix_id, for_update=True)
        if hotfix is None:
            raise NotFound(f"there is no hotfix {format_hotfix_ref(hotfix_id)}")
        app = repository.application(hotfix.application_id)
        snapshot = hotfix_snapshots(repository, [hotfix])[0]
        return record(ctx, repository, hotfix, app, snapshot, ctx.now(), origin_channel=channel)


def claim_due(ctx: ServiceContext, worker: str, limit: int = 50) -> list[Work]:
    """The sweep: claim what is due and not held by a live claim, hotfix by hotfix."""
    now = ctx.now()
    with ctx.db.write() as repository:
        ids = repository.hotfixes_with_due_outbox(now, limit)
        return _claim(ctx, repository, ids, worker, now)


def new_claim(worker: str) -> str:
    """A claim is one delivery's, not a whole process's: two deliveries in one process must
    not take each other's rows."""
    return f"{worker}/{uuid.uuid4().hex[:10]}"


def finish(ctx: ServiceContext, work: Work, done: Delivered) -> Work | None:
    """Record what was delivered and release the claim; hand back what came meanwhile.

    Under the claim, a living message's shown revision only grows. When changes arrived while
    this process was talking to Slack, they are claimed again at once and returned (the
    hotfix read once more only then).
    """
    now = ctx.now()
    policy = ctx.outbox
    hotfix_id, claim = work.hotfix.id, work.claim
    worker = claim.split("/")[0]
    with ctx.db.write() as repository:
        # No read first: each row is written only while this claim still holds it (checked
        # as the row is when written), so the finish needs no lock of the hotfix; a change
        # holding a message row makes it wait, and its rows are then seen by the last check.
        backing_off = [m for m in work.messages if m.channel in done.failed_messages]
        if backing_off:  # rare: their back-off depends on their attempts, read under lock
            for row in repository.living_messages([hotfix_id]):
                if row.claimed_by == claim and row.channel in done.failed_messages:
                    row.attempts += 1
                    row.next_attempt_at = now + backoff(policy, row.attempts)
                    row.claimed_by = None
                    row.claimed_until = None
                    repository.add(row)
        outcomes = []
        for message in work.messages:
            if message.channel in done.failed_messages:
                continue
            # A message posted again (deleted by someone) has a new ts.
            ts, revision = done.shown.get(message.channel, (None, 0))
            outcomes.append(
                {
                    "of_channel": message.channel,
                    "ts": ts,
                    "revision": revision,
                    "unreachable": message.channel in done.unreachable,
                }
            )
        failed = {line.id for line in work.lines} & done.failed_lines - done.sent_lines
        for line in repository.outbox_lines(failed) if failed else []:
            if line.claimed_by != claim:
                continue
            line.attempts += 1
            line.next_attempt_at = now + backoff(policy, line.attempts)
            line.claimed_by = None
            line.claimed_until = None
            repository.add(line)
        repository.flush()
        repository.finish_messages(hotfix_id, claim, outcomes)
        repository.release_lines(hotfix_id, claim, done.sent_lines | done.dropped_lines, now)
        if not repository.more_to_deliver(hotfix_id, now):
            return None
        claimed = _claim(ctx, repository, [hotfix_id], worker, now)
        return claimed[0] if claimed else None


def remember_posted(ctx: ServiceContext, work: Work, channel: str, ts: str) -> None:
    """A first post's timestamp, kept at once: a process that dies right after a post must
    not make the next one post a second message (a first post happens once per channel)."""
    with ctx.db.write() as repository:
        repository.hotfix(work.hotfix.id, for_update=True)
        row = repository.message(work.hotfix.id, channel)
        if row is not None and row.claimed_by == work.claim and not row.ts:
            row.ts = ts
            repository.add(row)


def renew(ctx: ServiceContext, worker: str) -> None:
    """Keep this process's claims while it still works on them."""
    with ctx.db.write() as repository:
        repository.renew_outbox_claims(worker, ctx.now() + ctx.outbox.lease)


def release_all(ctx: ServiceContext, worker: str) -> None:
    """A stopping process gives back every claim it holds; what it did not send stays."""
    with ctx.db.write() as repository:
        repository.release_outbox_claims(worker)


def forget_delivered(ctx: ServiceContext) -> int:
    with ctx.db.write() as repository:
        return repository.forget_delivered(ctx.now() - ctx.outbox.keep_delivered)


def record_unattached(
    repository: Repository, channel: str, kind: str, payload: dict[str, Any], now: datetime
) -> None:
    """A message about no hotfix, written in the transaction of what it tells."""
    repository.add(
        Outbox(
            hotfix_id=None,
            channel=channel,
            kind=kind,
            payload=json.dumps(payload, sort_keys=True),
            created_at=now,
            next_attempt_at=now,
        )
    )


@dataclass(frozen=True)
class LooseWork:
    """Lines about no hotfix under one claim."""

    lines: tuple[LineWork, ...]
    claim: str


def claim_unattached(ctx: ServiceContext, worker: str, limit: int = 50) -> LooseWork | None:
    """Claim lines about no hotfix that are due; None when there are none."""
    now = ctx.now()
    with ctx.db.write() as repository:
        rows = repository.due_unattached_lines(now, limit)
        if not rows:
            return None
        claim = new_claim(worker)
        for row in rows:
            row.claimed_by, row.claimed_until = claim, now + ctx.outbox.lease
            row.claims += 1
            repository.add(row)
        repository.flush()
        return LooseWork(tuple(_line(row) for row in rows), claim)


def finish_unattached(ctx: ServiceContext, work: LooseWork, done: Delivered) -> None:
    """Record what was sent, back off what failed, release the claim."""
    now = ctx.now()
    with ctx.db.write() as repository:
        for line in repository.outbox_lines(line.id for line in work.lines):
            if line.claimed_by != work.claim:
                continue  # the lease passed on: whoever holds it now decides
            if line.id in done.sent_lines or line.id in done.dropped_lines:
                line.delivered_at = now
            elif line.id in done.failed_lines:
                line.attempts += 1
                line.next_attempt_at = now + backoff(ctx.outbox, line.attempts)
            line.claimed_by, line.claimed_until = None, None
            repository.add(line)


def backoff(policy: OutboxPolicy, attempts: int) -> timedelta:
    return min(policy.first_retry * (2 ** min(attempts - 1, 20)), policy.max_backoff)


# helpers ----------------------------------------------------------------------------------------


def _claim(
    ctx: ServiceContext, repository: Repository, ids: Sequence[int], worker: str, now: datetime
) -> list[Work]:
    # A hotfix another transaction holds (a change, a claim, a finish) waits for the next
    # sweep; holding the hotfix's row, this claim sees all of its outbox rows, not a part.
    ids = repository.lock_hotfixes(ids)
    if not ids:
        return []
    messages = repository.living_messages(ids)
    lines = repository.undelivered(ids)
    hotfixes = repository.hotfixes_by_ids(ids)
    until = now + ctx.outbox.lease
    claimed: list[tuple[Hotfix, list[Message], list[Outbox], str]] = []
    for hotfix in hotfixes:
        mine = [row for row in messages if row.hotfix_id == hotfix.id]
        told = [line for line in lines if line.hotfix_id == hotfix.id]
        if _held_by_another(mine, told, None, now):
            continue
        claim = new_claim(worker)
        held: list[Message | Outbox] = [*mine, *told]
        for row in held:
            row.claimed_by = claim
            row.claimed_until = until
            row.claims += 1
            repository.add(row)
        claimed.append((hotfix, mine, told, claim))
    repository.flush()
    snapshots = {s.id: s for s in hotfix_snapshots(repository, [c[0] for c in claimed])}
    return [
        _work(snapshots[_id(hotfix)], mine, [t for t in told if _due(t, now)], claim)
        for hotfix, mine, told, claim in claimed
    ]


def _work(
    snapshot: HotfixSnapshot, messages: Sequence[Message], lines: Sequence[Outbox], claim: str
) -> Work:
    return Work(
        hotfix=snapshot,
        messages=tuple(
            LivingWork(
                row.channel,
                row.ts,
                row.shown_revision,
                row.wanted_revision,
                # this claim counted itself: more than one means an earlier delivery took it
                maybe_posted=not row.ts and row.claims > 1,
            )
            for row in messages
        ),
        lines=tuple(_line(line) for line in sorted(lines, key=_id)),
        claim=claim,
    )


def _line(row: Outbox) -> LineWork:
    """A claimed line; its claim counted itself, so more than one means an earlier delivery."""
    return LineWork(
        _id(row),
        row.channel,
        row.kind,
        json.loads(row.payload),
        maybe_sent=row.claims > 1,
        created_at=row.created_at,
    )


def _held_by_another(
    messages: Iterable[Message], lines: Iterable[Outbox], claim: str | None, now: datetime
) -> bool:
    rows: list[Message | Outbox] = [*messages, *lines]
    return any(
        row.claimed_by not in (None, claim)
        and row.claimed_until is not None
        and row.claimed_until >= now
        for row in rows
    )


def _due(row: Message | Outbox, now: datetime) -> bool:
    """Never tried yet (whatever the clocks of the processes say), or its back-off is over."""
    return row.attempts == 0 or row.next_attempt_at is None or row.next_attempt_at <= now


def _id(row: Any) -> int:
    identifier = row.id
    assert identifier is not None
    return int(identifier)
