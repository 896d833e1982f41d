"""What every operation runs with: the database and a clock that tests can move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from commands.deployers.registry import DeployerSecrets
from commands.reminder_rules import ReminderPolicy
from storage.repository import Database

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    db: Database
    clock: Clock = field(default=utc_now)
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    deployer_secrets: DeployerSecrets = field(default_factory=DeployerSecrets)
    deploy_stuck_after: timedelta = timedelta(minutes=15)
    deploy_poll_every: timedelta = timedelta(seconds=5)  # DEPLOY_POLL_SECONDS

    def now(self) -> datetime:
        return self.clock()
