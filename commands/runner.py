"""The one path every change takes: lock, permission, request key, apply, audit event, outcome.

Hotfix operations, reminder changes, deployment steering and admin changes all run through
`run`, in one transaction. The target row is locked first, so two concurrent changes to the same
thing run one after the other and the second sees the first's result; a request key already
seen (a Slack retry, a double click) applies nothing; the audit event is written in the same
transaction as the change, so the trail never misses or invents one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from commands import outbox, reminders
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import AlreadyApplied, Conflict
from commands.results import EventLine, Outcome
from commands.snapshots import ApplicationFacts, hotfix_snapshots
from storage.models import Application, Hotfix
from storage.repository import Repository, StorageConflict

Target = TypeVar("Target")
Result = TypeVar("Result")


@dataclass(frozen=True)
class HotfixChange:
    """What an operation did to a hotfix: the audit event, and what follows from it."""

    hotfix: Hotfix
    app: Application
    kind: str
    details: dict[str, Any] = field(default_factory=dict)
    # False when the hotfix itself is unchanged (a snooze): its revision stays, so the living
    # message is not redrawn, but the event still goes to the trail and the thread.
    changes_hotfix: bool = True
    reschedule: bool = True
    actor: Actor | None = None  # who the event names, when not the person who ran it


@dataclass(frozen=True)
class ApplicationEvent:
    """The audit event of an admin change to one application."""

    application_id: int
    kind: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ApplicationChange(Generic[Result]):
    """An admin change to an application: the audit event and what the caller gets back."""

    application_id: int
    kind: str
    details: dict[str, Any]
    result: Callable[[Repository], Result]

    def events(self) -> list[ApplicationEvent]:
        return [ApplicationEvent(self.application_id, self.kind, self.details)]


@dataclass(frozen=True)
class CatalogChange(Generic[Result]):
    """A catalog load: many applications created or updated in one transaction, one audit event
    for each it changed (none for those it left as they were, so a reload writes nothing)."""

    changed: Sequence[ApplicationEvent]
    result: Callable[[Repository], Result]

    def events(self) -> list[ApplicationEvent]:
        return list(self.changed)


class _Rehearsed(Exception):
    """Carries a dry run's result out of its transaction, which the exception rolls back."""

    def __init__(self, result: object) -> None:
        super().__init__("dry run")
        self.result = result


def run(
    ctx: ServiceContext,
    actor: Actor,
    *,
    lock: Callable[[Repository], Target],
    authorize: Callable[[Repository, Target], None],
    apply: Callable[[Repository, Target, datetime], Any],
    request_key: str | None = None,
    conflict: str,
    origin_channel: str | None = None,
    dry_run: bool = False,
) -> Any:
    """Run one change in one transaction and hand back its outcome.

    `lock` finds and locks the target (raising NotFound when it is not there); `authorize`
    raises when the actor may not do this now; `apply` makes the change and says what it was
    (a HotfixChange, an ApplicationChange or a CatalogChange). `conflict` is the message when a
    concurrent writer won (a unique key taken, a serialization failure). With `dry_run` every
    step runs, so the result says what the change would do, and then the transaction is rolled
    back: nothing is written, not even the request key.
    """
    now = ctx.now()
    try:
        with ctx.db.write() as repository:
            target = lock(repository)
            skip_if_applied(repository, request_key, now)
            authorize(repository, target)
            change = apply(repository, target, now)
            if isinstance(change, HotfixChange):
                result: Any = record_change(
                    ctx, repository, change, change.actor or actor, now, origin_channel
                )
            elif isinstance(change, ApplicationChange | CatalogChange):
                for event in change.events():
                    repository.record_event(
                        at=now,
                        actor=actor.user_id,
                        kind=event.kind,
                        details=event.details,
                        application_id=event.application_id,
                    )
                repository.flush()
                result = change.result(repository)
            else:
                raise TypeError(f"an operation must say what it changed, not {change!r}")
            if dry_run:
                raise _Rehearsed(result)
            return result
    except _Rehearsed as rehearsal:
        return rehearsal.result
    except StorageConflict as error:
        raise Conflict(conflict) from error


def record_change(
    ctx: ServiceContext,
    repository: Repository,
    change: HotfixChange,
    actor: Actor,
    now: datetime,
    origin_channel: str | None = None,
    *,
    lines: Sequence[tuple[str, dict[str, Any]]] = (),
) -> Outcome:
    """The audit event, the next revision, the reminder and what Slack must show (the outbox),
    in the transaction of the change. Also used by the deployment follower (the system's
    changes)."""
    hotfix = change.hotfix
    if change.changes_hotfix:
        hotfix.revision += 1
        repository.add(hotfix)
    repository.record_event(
        at=now,
        actor=actor.user_id,
        kind=change.kind,
        details=change.details,
        hotfix_id=hotfix.id,
        application_id=hotfix.application_id,
    )
    if change.reschedule:
        reminders.reschedule(repository, ctx.reminders, hotfix, change.app, now)
    repository.flush()
    # The operation locked and read the application: the snapshot need not read it again.
    facts = ApplicationFacts.load(repository, [change.app])
    snapshot = hotfix_snapshots(repository, [hotfix], facts)[0]
    event = EventLine(at=now, actor=actor.user_id, kind=change.kind, details=change.details)
    work = outbox.record(
        ctx,
        repository,
        hotfix,
        change.app,
        snapshot,
        now,
        lines=lines,
        event=event,
        origin_channel=origin_channel,
    )
    return Outcome(snapshot, event, work)


def skip_if_applied(repository: Repository, request_key: str | None, now: datetime) -> None:
    if request_key is None:
        return
    # One statement: the key is written, or it was there already (a retry, a double click).
    if not repository.remember_request_once(request_key, now):
        raise AlreadyApplied("this request was already applied")
