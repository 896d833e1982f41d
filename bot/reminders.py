"""The reminder sweep: claims due reminders, records each round's nudges in the outbox."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics, observe
from bot.delivery import Deliverer
from commands import reminders
from commands.context import ServiceContext
from commands.reminder_rules import plan_delivery, zone_of
from commands.reminders import DueReminder

log = logging.getLogger(__name__)


class DeploymentFollowerLike(Protocol):
    def follow_safely(self) -> None: ...

    def watch_safely(self) -> None: ...


class LifeTimeWatcherLike(Protocol):
    def run_safely(self) -> None: ...


class DelivererLike(Protocol):
    def sweep_safely(self) -> None: ...

    def forget_delivered_safely(self) -> None: ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class SweepReport:
    claimed: int = 0
    nudged: list[tuple[str, str]] = field(default_factory=list)  # (hotfix ref, user) recorded
    deferred: list[tuple[str, str]] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


class Sweeper:
    """Decides who is nudged now and records each round in the outbox; it sends nothing itself:
    the deliverer does, right after the round's commit (or its sweep, after a crash)."""

    def __init__(
        self,
        ctx: ServiceContext,
        client: WebClient,
        deliverer: Deliverer,
        *,
        worker: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client  # reads only: users.info for time zones
        self.deliverer = deliverer
        self.worker = worker or worker_name()

    def sweep(self) -> SweepReport:
        report = SweepReport()
        reminders.forget_old_request_keys(self.ctx)
        due = reminders.claim_due(self.ctx, self.worker)
        report.claimed = len(due)
        for item in due:
            self._round(item, report)
        return report

    def sweep_safely(self) -> None:
        """The scheduled job: a failed sweep is logged and the next one tries again."""
        try:
            report = self.sweep()
            if report.claimed:
                log.info(
                    "reminder sweep: %d due, %d nudged, %d deferred, %d escalated",
                    report.claimed,
                    len(report.nudged),
                    len(report.deferred),
                    len(report.escalated),
                )
        except Exception:
            log.exception("reminder sweep failed")

    def _round(self, item: DueReminder, report: SweepReport) -> None:
        hotfix = item.hotfix
        now = self.ctx.now()
        zones = {user: zone_of(name) for user, name in self._timezones(item.recipients).items()}
        plan = plan_delivery(
            item.recipients, hotfix.severity, zones, now, self.ctx.reminders.working_hours
        )
        recorded = reminders.record_round(
            self.ctx, self.worker, item, nudge=plan.now, deferred=plan.later
        )
        metrics.REMINDERS.labels("deferred").inc(len(plan.later))
        # The fast path: this process claimed the round's rows in its transaction.
        self.deliverer.deliver(recorded.work)
        report.nudged += [(hotfix.ref, user) for user in recorded.nudged]
        report.deferred += [(hotfix.ref, user) for user in plan.later]
        if recorded.escalated:
            report.escalated.append(hotfix.ref)

    def _timezones(self, users: tuple[str, ...]) -> dict[str, str | None]:
        known = reminders.cached_timezones(self.ctx, users)
        fetched: dict[str, str | None] = {}
        for user in users:
            if user in known:
                continue
            try:
                fetched[user] = self.client.users_info(user=user)["user"].get("tz")
            except SlackApiError:
                fetched[user] = None  # unknown: treated as UTC, asked again tomorrow
        reminders.remember_timezones(self.ctx, fetched)
        return {**known, **fetched}


def start_scheduler(
    sweeper: Sweeper,
    every_seconds: float,
    follower: DeploymentFollowerLike | None = None,
    follow_every_seconds: float = 5.0,
    watcher: LifeTimeWatcherLike | None = None,
    watch_every_seconds: float = 120.0,
    deliverer: DelivererLike | None = None,
    deliver_every_seconds: float = 2.0,
) -> BackgroundScheduler:
    """APScheduler in the serving process; it only says *when to look*, the database what is due."""
    scheduler = BackgroundScheduler(timezone=UTC)

    def every(name: str, run: Callable[[], None], *, start_now: bool = True, **when: float) -> None:
        start = {"next_run_time": datetime.now(UTC)} if start_now else {}
        scheduler.add_job(
            as_job(name, run), "interval", id=name, max_instances=1, coalesce=True, **when, **start
        )

    if deliverer is not None:
        # What the fast path could not send (a crash, a restart, Slack down) goes out here.
        every("outbox-sweep", deliverer.sweep_safely, seconds=deliver_every_seconds)
        every("outbox-forget", deliverer.forget_delivered_safely, hours=1, start_now=False)
    if follower is not None:
        every("deployment-follow", follower.follow_safely, seconds=follow_every_seconds)
        every("regression-watch", follower.watch_safely, seconds=every_seconds, start_now=False)
    if watcher is not None:
        every("lifetime-watch", watcher.run_safely, seconds=watch_every_seconds)
    every("reminder-sweep", sweeper.sweep_safely, seconds=every_seconds)
    scheduler.start()
    return scheduler


def as_job(name: str, run: Callable[[], None]) -> Callable[[], None]:
    """Each run gets its own request id, so its Slack and deployer calls can be followed."""

    def job() -> None:
        with observe.job(name):
            run()

    job.__name__ = job.__qualname__ = name  # APScheduler's log lines name the job by it
    return job
