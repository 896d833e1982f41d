"""Reminders while a hotfix stays red: scheduling, claiming due ones, snooze, cadence.

The reminder row of a hotfix says when its owners are nudged next. Every change to the hotfix
reschedules it (someone acted: the unanswered count starts again); solving or cancelling removes
it in the same transaction, so no nudge follows a solve.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from commands.actors import Actor
from commands.context import ServiceContext
from commands.durations import format_duration, parse_duration
from commands.errors import Refused
from commands.lifecycle import HotfixState
from commands.refs import format_hotfix_ref, parse_hotfix_ref
from commands.reminder_rules import ReminderPolicy
from commands.results import HotfixSnapshot, Outcome
from commands.snapshots import hotfix_snapshots
from storage.models import Application, Hotfix, Reminder, UserTimezone
from storage.repository import Repository

if TYPE_CHECKING:
    from commands.outbox import Work

CLAIM_LEASE = timedelta(minutes=2)
TIMEZONE_FRESH_FOR = timedelta(days=1)


@dataclass(frozen=True)
class DueReminder:
    hotfix: HotfixSnapshot
    recipients: tuple[str, ...]
    new_round: bool  # False when finishing a round deferred by quiet hours or a failure
    escalate: bool
    escalation_usergroup: str | None
    unanswered: int


def cadence(policy: ReminderPolicy, app: Application, state: HotfixState) -> timedelta:
    return policy.every(
        state,
        {
            HotfixState.OPEN.value: app.remind_open_seconds,
            HotfixState.AWAITING_APPROVAL.value: app.remind_approval_seconds,
            HotfixState.PROPAGATING.value: app.remind_propagating_seconds,
        },
    )


def reschedule(
    repository: Repository, policy: ReminderPolicy, hotfix: Hotfix, app: Application, now: datetime
) -> None:
    """After any change: red hotfixes get their next nudge one cadence from now."""
    assert hotfix.id is not None
    state = HotfixState(hotfix.state)
    if not state.is_red:
        repository.delete_reminder(hotfix.id)
        return
    row = repository.reminder(hotfix.id) or Reminder(hotfix_id=hotfix.id, next_due_at=now)
    every = timedelta(seconds=row.every_seconds) if row.every_seconds else None
    row.next_due_at = now + (every or cadence(policy, app, state))
    row.unanswered = 0
    row.pending_recipients = None
    row.escalated_at = None
    row.failures = 0
    row.claimed_by = None
    row.claimed_until = None
    repository.add(row)


def claim_due(ctx: ServiceContext, worker: str, limit: int = 500) -> list[DueReminder]:
    """Claim the reminders due now for this worker; another worker will not get the same ones."""
    now = ctx.now()
    with ctx.db.write() as repository:
        rows = repository.claim_due_reminders(now, worker, now + CLAIM_LEASE, limit)
        hotfixes = {h.id: h for h in repository.hotfixes_by_ids(r.hotfix_id for r in rows)}
        snapshots = {s.id: s for s in hotfix_snapshots(repository, list(hotfixes.values()))}
        applications = repository.applications_by_ids(h.application_id for h in hotfixes.values())
        due = []
        for row in rows:
            snapshot = snapshots.get(row.hotfix_id)
            if snapshot is None or not snapshot.red:
                repository.delete_reminder(row.hotfix_id)
                continue
            app = applications[hotfixes[row.hotfix_id].application_id]
            new_round = row.pending_recipients is None
            recipients = (
                tuple(json.loads(row.pending_recipients))
                if row.pending_recipients
                else recipients_of(snapshot)
            )
            unanswered = row.unanswered + (1 if new_round else 0)
            escalate = row.escalated_at is None and ctx.reminders.should_escalate(
                unanswered, now - snapshot.opened_at
            )
            due.append(
                DueReminder(
                    hotfix=snapshot,
                    recipients=recipients,
                    new_round=new_round,
                    escalate=escalate,
                    escalation_usergroup=app.escalation_usergroup,
                    unanswered=unanswered,
                )
            )
        return due


def recipients_of(hotfix: HotfixSnapshot) -> tuple[str, ...]:
    """Who can move the step on: the approvers while approval waits, else the owners."""
    if hotfix.state is HotfixState.AWAITING_APPROVAL:
        approvers = tuple(a for a in hotfix.approvers if a != hotfix.requested_by)
        return approvers or hotfix.owners
    return hotfix.owners


@dataclass(frozen=True)
class Round:
    """What a reminder round recorded in the outbox, and the claimed work to send at once."""

    nudged: tuple[str, ...] = ()
    escalated: bool = False
    work: Work | None = None


def record_round(
    ctx: ServiceContext,
    worker: str,
    due: DueReminder,
    *,
    nudge: Iterable[str],
    deferred: Mapping[str, datetime],
) -> Round:
    """Advance the reminder and record the round's messages in ONE transaction.

    The DM per person to nudge now, the escalation and the line in the living message's thread
    become outbox rows beside the reminder's new due time: a crash after the commit loses
    nothing (the outbox sweep sends them) and sends nothing twice (the reminder moved on, and
    a round whose claim passed to another worker records nothing). Failed sends are the
    outbox's to retry, with its back-off; the reminder keeps its cadence meanwhile.
    """
    from commands import outbox  # it renders snapshots that reminders feed: imported when used

    now = ctx.now()
    with ctx.db.write() as repository:
        # The hotfix first, as every change does: the same lock order, no deadlock.
        hotfix = repository.hotfix(due.hotfix.id, for_update=True)
        row = repository.reminder(due.hotfix.id, for_update=True)
        if row is None or row.claimed_by != worker:
            return Round()  # solved meanwhile, or the lease passed to another worker
        if hotfix is None or not HotfixState(hotfix.state).is_red:
            repository.delete_reminder(due.hotfix.id)
            return Round()
        app = repository.application(hotfix.application_id)
        # Someone whose last nudge is still unsent (Slack down) gets that one, rendered fresh
        # when it goes: a round does not pile a second one up behind it.
        waiting = {
            line.channel
            for line in repository.undelivered([due.hotfix.id])
            if line.kind == outbox.NUDGE
        }
        nudged = tuple(user for user in nudge if user not in waiting)
        if due.new_round:
            row.unanswered += 1
        escalate_in: tuple[str, ...] = ()
        if due.escalate and row.escalated_at is None:
            escalate_in = (
                (due.hotfix.home_channel,)
                if due.hotfix.home_channel
                else tuple(dict.fromkeys(message.channel for message in due.hotfix.messages))
            )
            if escalate_in:
                row.escalated_at = now
        if nudged:
            row.last_sent_at = now
        row.failures = 0
        if deferred:
            row.next_due_at = min(deferred.values())
        else:
            every = timedelta(seconds=row.every_seconds) if row.every_seconds else None
            row.next_due_at = now + (
                every or cadence(ctx.reminders, app, HotfixState(hotfix.state))
            )
        row.pending_recipients = json.dumps(list(deferred)) if deferred else None
        row.claimed_by = None
        row.claimed_until = None
        repository.add(row)
        if not nudged and not escalate_in:
            return Round()
        at = now.isoformat()
        addressed = [(outbox.NUDGE, user, {"at": at}) for user in nudged] + [
            (
                outbox.ESCALATION,
                channel,
                {"at": at, "unanswered": due.unanswered, "usergroup": due.escalation_usergroup},
            )
            for channel in escalate_in
        ]
        lines = [(outbox.REMINDED, {"users": list(nudged), "at": at})] if nudged else []
        repository.flush()
        snapshot = hotfix_snapshots(repository, [hotfix])[0]
        work = outbox.record(
            ctx, repository, hotfix, app, snapshot, now, lines=lines, addressed=addressed
        )
        return Round(nudged=nudged, escalated=bool(escalate_in), work=work)


def snooze(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    duration: str,
    *,
    request_key: str | None = None,
) -> Outcome:
    length = parse_duration(duration, least=timedelta(minutes=1))
    return _change_reminder(ctx, actor, hotfix_ref, "snoozed", request_key, snooze_for=length)


def set_cadence(ctx: ServiceContext, actor: Actor, hotfix_ref: str, every: str) -> Outcome:
    """`/hotfix remind HF-12 2h` or `off`."""
    if every.strip().casefold() == "off":
        return _change_reminder(ctx, actor, hotfix_ref, "reminders_off", None, enabled=False)
    length = parse_duration(every, least=timedelta(minutes=1))
    return _change_reminder(ctx, actor, hotfix_ref, "reminders_set", None, every=length)


def _change_reminder(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    kind: str,
    request_key: str | None,
    *,
    snooze_for: timedelta | None = None,
    every: timedelta | None = None,
    enabled: bool = True,
) -> Outcome:
    from commands import hotfixes, runner  # they schedule reminders: imported when used

    hotfix_id = parse_hotfix_ref(hotfix_ref)
    ref = format_hotfix_ref(hotfix_id)

    def authorize(repository: Repository, hotfix: Hotfix) -> None:
        if not HotfixState(hotfix.state).is_red:
            raise Refused(f"{ref} is not red any more: there is nothing to remind anyone of")
        hotfixes.require_hotfix_member(repository, actor, hotfix, f"change {ref}'s reminders")

    def apply(repository: Repository, hotfix: Hotfix, now: datetime) -> runner.HotfixChange:
        app = repository.application(hotfix.application_id)
        row = repository.reminder(hotfix_id, for_update=True) or Reminder(
            hotfix_id=hotfix_id, next_due_at=now
        )
        details: dict[str, str] = {}
        if snooze_for is not None:
            row.next_due_at = now + snooze_for
            row.unanswered = 0
            row.pending_recipients = None
            details = {"for": format_duration(snooze_for), "until": row.next_due_at.isoformat()}
        else:
            row.enabled = enabled
            row.every_seconds = int(every.total_seconds()) if every else None
            step_every = every or cadence(ctx.reminders, app, HotfixState(hotfix.state))
            row.next_due_at = now + step_every
            details = {"every": format_duration(step_every)} if enabled else {}
        repository.add(row)
        return runner.HotfixChange(
            hotfix, app, kind, details, changes_hotfix=False, reschedule=False
        )

    outcome: Outcome = runner.run(
        ctx,
        actor,
        lock=lambda repository: hotfixes.lock_hotfix(repository, hotfix_id),
        authorize=authorize,
        apply=apply,
        request_key=request_key,
        conflict=f"{ref}'s reminders were changed by someone else at the same moment: retry",
    )
    return outcome


def next_reminder(ctx: ServiceContext, hotfix_ref: str) -> datetime | None:
    with ctx.db.read() as repository:
        row = repository.reminder(parse_hotfix_ref(hotfix_ref))
        return row.next_due_at if row is not None and row.enabled else None


def cached_timezones(ctx: ServiceContext, users: Iterable[str]) -> dict[str, str | None]:
    """Time zones known and fresh; users missing from the answer need a users.info look-up."""
    now = ctx.now()
    with ctx.db.read() as repository:
        rows = repository.timezones(users)
    return {user: row.tz for user, row in rows.items() if now - row.fetched_at < TIMEZONE_FRESH_FOR}


def remember_timezones(ctx: ServiceContext, zones: Mapping[str, str | None]) -> None:
    if not zones:
        return
    now = ctx.now()
    with ctx.db.write() as repository:
        known = repository.timezones(zones)
        for user, tz in zones.items():
            row = known.get(user) or UserTimezone(user_id=user, fetched_at=now)
            row.tz = tz
            row.fetched_at = now
            repository.add(row)


# Slack retries a request within minutes and a webhook callback older than five is refused, so
# their keys need not be kept for long; regression warnings are remembered for good.
SHORT_LIVED_KEYS = ("command:", "action:", "view:", "webhook:")
KEEP_REQUEST_KEYS = timedelta(days=2)


def forget_old_request_keys(ctx: ServiceContext) -> int:
    with ctx.db.write() as repository:
        return repository.forget_requests_before(ctx.now() - KEEP_REQUEST_KEYS, SHORT_LIVED_KEYS)
