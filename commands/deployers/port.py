"""The deployer port: what the hotfix lifecycle needs from a deployment system.

The bot keeps owning the hotfix lifecycle (LifeTime has no hotfix state); a deployer only reads
what environments run, tags versions and runs deployments. Adapters: `ledger` (the bot's own
database, deploys at once), `lifetime` (OutSystems LifeTime API v2), `webhook` (a CI pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Deployment statuses, LifeTime's words; webhook results are mapped onto them. LifeTime's
# DeploymentStatus values (swagger `lifetime-api.json` in OutSystems/docs-product, definition
# DeploymentMessageListTextTextRecord): saved, running, needs_user_intervention, aborted,
# finished_successful, finished_with_warnings, finished_with_errors, force_finished, aborting.
# Any other word a deployment system answers is kept and shown verbatim, never a crash.
STARTING = "starting"
SAVED = "saved"
RUNNING = "running"
ABORTING = "aborting"  # LifeTime is aborting it: not over yet
NEEDS_USER_INTERVENTION = "needs_user_intervention"
FINISHED_SUCCESSFUL = "finished_successful"
FINISHED_WITH_WARNINGS = "finished_with_warnings"
FINISHED_WITH_ERRORS = "finished_with_errors"
ABORTED = "aborted"
FORCE_FINISHED = "force_finished"  # someone ended it in LifeTime; the outcome must be asked
FAILED = "failed"  # could not be started (conflicts, a lower version, refused), or marked so

SUCCEEDED = frozenset({FINISHED_SUCCESSFUL, FINISHED_WITH_WARNINGS})
TERMINAL = frozenset(
    {FINISHED_SUCCESSFUL, FINISHED_WITH_WARNINGS, FINISHED_WITH_ERRORS, ABORTED, FAILED}
)
# The statuses the bot knows how to follow; any other (force_finished left unresolved, a word
# from a newer LifeTime) leaves the hotfix deploying with Mark deploy failed… offered.
KNOWN = TERMINAL | {STARTING, SAVED, RUNNING, ABORTING, NEEDS_USER_INTERVENTION}


class DeployRefused(Exception):
    """The deployment system will not deploy this (conflicts, a lower version...): final."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DeployerUnavailable(Exception):
    """The deployment system did not answer now (down, timeout, expired token): try later."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RunningVersion:
    version: str | None
    modified: bool


@dataclass(frozen=True)
class DeployRequest:
    deployment_id: int
    hotfix_ref: str
    application: str
    summary: str
    version: str
    source_environment: str  # the hotfix environment
    target_environment: str  # Production
    requested_by: str


@dataclass(frozen=True)
class Progress:
    """Where a deployment stands.

    ``log`` is the deployment system's own log, every line so far, oldest first (a poller gets
    it whole each time; the bot keeps a cursor into it). ``notes`` are the bot's own lines about
    this step (tagged, plan deleted, asked LifeTime...), new each time, never counted in ``log``.
    """

    status: str
    info: str = ""
    log: tuple[str, ...] = field(default_factory=tuple)
    external_key: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


class Deployer(Protocol):
    kind: str
    immediate: bool  # True: the deploy is done when start() returns (the ledger)

    def running(self, application: str, environment: str) -> RunningVersion | None:
        """What an environment runs, or None when the bot's own records are the truth."""
        ...

    def start(self, request: DeployRequest) -> Progress:
        """Tag the version in the source environment and start deploying it to the target."""
        ...

    def poll(self, external_key: str) -> Progress | None:
        """The deployment's status and log, or None when results arrive by callback."""
        ...

    def continue_(self, external_key: str) -> None: ...

    def abort(self, external_key: str) -> None: ...
