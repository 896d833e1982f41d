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


def ignore_deployment_status(deployer: str, status: str) -> None:
    """The CLI and tests that do not count deployments."""


@dataclass
class ServiceContext:
    db: Database
    clock: Clock = field(default=utc_now)
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    deployer_secrets: DeployerSecrets = field(default_factory=DeployerSecrets)
    deploy_stuck_after: timedelta = timedelta(minutes=15)
    on_deployment_status: DeploymentObserver = field(default=ignore_deployment_status)
    deploy_poll_every: timedelta = timedelta(seconds=5)  # DEPLOY_POLL_SECONDS

    def now(self) -> datetime:
        return self.clock()
