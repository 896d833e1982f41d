"""What the service layer hands back: plain, immutable snapshots that views render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commands.deployers.port import KNOWN
from commands.errors import InvalidInput
from commands.lifecycle import HotfixState, ItemStatus
from commands.refs import Severity
from commands.versions import Version

if TYPE_CHECKING:
    from commands.outbox import Work


@dataclass(frozen=True)
class EnvironmentLine:
    """One environment of an application's pipeline as people see it."""

    name: str
    alias: str
    tag: str
    has_changes: bool
    red: bool
    is_production: bool = False
    is_hotfix_environment: bool = False
    fix: str = ""  # for a hotfix: "has the fix", "merging now", "waits for the fix", ...
    lifetime: str | None = None  # what the LifeTime watch last saw there: "1.7.1+", "untagged"

    @property
    def shown_version(self) -> str:
        return f"{self.tag}+" if self.has_changes else self.tag

    @property
    def lifetime_differs(self) -> bool:
        """LifeTime says this environment runs something else than the bot recorded (``1.7``
        and ``1.7.0`` are the same version)."""
        if self.lifetime is None or self.lifetime == self.shown_version:
            return False
        theirs, mine = self.lifetime.removesuffix("+"), self.tag
        if self.lifetime.endswith("+") != self.has_changes:
            return True
        try:
            return Version.parse(theirs) != Version.parse(mine)
        except InvalidInput:
            return True


@dataclass(frozen=True)
class ChecklistLine:
    environment: str
    module: str
    status: ItemStatus
    reason: str | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    evidence_at: datetime | None = None  # LifeTime saw a new version of it there then


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str
    shown_revision: int


@dataclass(frozen=True)
class DeploymentLine:
    """A Tag & Deploy handed to a deployment system (LifeTime, a CI pipeline)."""

    deployer: str
    version: str
    status: str
    info: str
    last_log: str
    stuck: bool
    started_at: datetime

    @property
    def needs_intervention(self) -> bool:
        return self.status == "needs_user_intervention"

    @property
    def unrecognised(self) -> bool:
        """A status the bot does not know (shown verbatim): it cannot tell how this ends."""
        return self.status not in KNOWN

    @property
    def may_mark_failed(self) -> bool:
        """The deployment system may never end it: an approver can mark the deploy failed."""
        return self.stuck or self.unrecognised


@dataclass(frozen=True)
class HotfixSnapshot:
    id: int
    ref: str
    application: str
    home_channel: str | None
    summary: str
    severity: Severity
    state: HotfixState
    modules: tuple[str, ...]
    owners: tuple[str, ...]
    approvers: tuple[str, ...]
    opened_by: str
    opened_at: datetime
    base_version: str
    forced: bool
    require_approval: bool
    pipeline: tuple[EnvironmentLine, ...]
    checklist: tuple[ChecklistLine, ...]
    propagation_order: tuple[str, ...]
    active_environment: str | None
    suggested_version: str | None
    requested_version: str | None
    requested_by: str | None
    deployed_version: str | None
    deployed_by: str | None
    approved_by: str | None
    deployed_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    close_reason: str | None
    revision: int
    messages: tuple[MessageRef, ...] = ()
    deployment: DeploymentLine | None = None
    deployer: str = "ledger"

    @property
    def lacking_fix(self) -> tuple[str, ...]:
        """Environments that do not have the fix yet."""
        if self.state in (HotfixState.SOLVED, HotfixState.CANCELLED):
            return ()
        deployed = self.state is HotfixState.PROPAGATING
        lacking = [] if deployed else [self.pipeline[0].name]
        for environment in self.propagation_order:
            if any(item.status is ItemStatus.PENDING for item in self.checklist_of(environment)):
                lacking.append(environment)
        return tuple(lacking)

    @property
    def red(self) -> bool:
        return self.state.is_red

    @property
    def ready_to_solve(self) -> bool:
        return self.state is HotfixState.PROPAGATING and self.active_environment is None

    @property
    def hotfix_environment(self) -> str:
        return next(line.name for line in self.pipeline if line.is_hotfix_environment)

    def checklist_of(self, environment: str) -> tuple[ChecklistLine, ...]:
        return tuple(item for item in self.checklist if item.environment == environment)

    def pending_modules(self, environment: str) -> tuple[str, ...]:
        return tuple(
            item.module
            for item in self.checklist_of(environment)
            if item.status is ItemStatus.PENDING
        )

    @property
    def step(self) -> str:
        """The step the hotfix waits on, in words."""
        hotfix_environment = self.hotfix_environment
        if self.state is HotfixState.OPEN:
            return (
                f"test the fix in {hotfix_environment}, then Tag & Deploy "
                f"{self.suggested_version} to Production"
            )
        if self.state is HotfixState.AWAITING_APPROVAL:
            return f"an approver to approve Tag & Deploy {self.requested_version}"
        if self.state is HotfixState.DEPLOYING:
            deployment = self.deployment
            if deployment is not None and deployment.needs_intervention:
                return f"an approver to continue or abort the deployment of {deployment.version}"
            if deployment is not None and deployment.unrecognised:
                return (
                    f"an approver: the deployment of {deployment.version} is "
                    f"'{deployment.status}', which the bot cannot follow: abort it or mark "
                    "the deploy failed"
                )
            if deployment is not None and deployment.stuck:
                return (
                    f"the deployment of {deployment.version} looks stuck: retry or abort it, "
                    "or mark the deploy failed"
                )
            return f"the deployment of {self.requested_version} to Production to finish"
        if self.state is HotfixState.PROPAGATING:
            if self.active_environment is None:
                return "every environment has the fix: Mark Hotfix as Solved"
            pending = ", ".join(self.pending_modules(self.active_environment))
            return f"{self.active_environment}: {pending} not merged"
        if self.state is HotfixState.SOLVED:
            return "solved"
        return "cancelled"


@dataclass(frozen=True)
class EventLine:
    at: datetime
    actor: str
    kind: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A change that was applied: the hotfix after it, the event it wrote, and what Slack must
    be told that this process claimed to send right after the commit (see commands.outbox)."""

    hotfix: HotfixSnapshot
    event: EventLine
    work: Work | None = None


@dataclass(frozen=True)
class ApplicationSnapshot:
    name: str
    modules: tuple[str, ...]
    owners: tuple[str, ...]
    approvers: tuple[str, ...]
    home_channel: str | None
    require_approval: bool
    pipeline: tuple[EnvironmentLine, ...]
    active_hotfix: str | None
