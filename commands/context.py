"""What every operation runs with: the database and a clock that tests can move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from commands.deployers.registry import DeployerSecrets
from commands.reminder_rules import ReminderPolicy
from storage.repository import Database

Clock = Callable[[], datetime]
# Told (deployer kind, status) when a deployment reaches a new status; the bot counts these.
DeploymentObserver = Callable[[str, str], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OutboxPolicy:
    """How what Slack must show is delivered (see commands.outbox).

    Leases are short and renewed while a delivery runs, so a row held by a process that died
    is free again within `lease`; the back-off is capped so that, once Slack answers again, the
    next attempt comes within `max_backoff` (plus one sweep).
    """

    lease: timedelta = timedelta(seconds=15)
    first_retry: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(seconds=10)
    keep_delivered: timedelta = timedelta(days=2)


def ignore_deployment_status(deployer: str, status: str) -> None:
    """The CLI and tests that do not count deployments."""


@dataclass
class ServiceContext:
    db: Database
    clock: Clock = field(default=utc_now)
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    deployer_secrets: DeployerSecrets = field(default_factory=DeployerSecrets)
    deploy_stuck_after: timedelta = timedelta(minutes=15)
    outbox: OutboxPolicy = field(default_factory=OutboxPolicy)
    # The process that delivers this context's changes right after their commit: it claims
    # them in the change's own transaction. None (the CLI): the serving process's sweep sends.
    worker: str | None = None
    on_deployment_status: DeploymentObserver = field(default=ignore_deployment_status)
    deploy_poll_every: timedelta = timedelta(seconds=5)  # DEPLOY_POLL_SECONDS

    def now(self) -> datetime:
        return self.clock()
