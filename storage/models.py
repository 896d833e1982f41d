"""The tables. Times are timezone-aware UTC (SQLModel stores them as UTC)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

ACTIVE_HOTFIX_STATES = ("open", "awaiting_approval", "deploying", "propagating")
_ACTIVE_SQL = "state NOT IN ('solved', 'cancelled')"


class EnvironmentRow(SQLModel, table=True):
    __tablename__ = "environment"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    alias: str = Field(max_length=40, unique=True)
    position: int = Field(unique=True)
    is_hotfix_environment: bool = False


class Application(SQLModel, table=True):
    __tablename__ = "application"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    name_key: str = Field(max_length=120, unique=True)  # case-folded name
    home_channel: str | None = Field(default=None, max_length=40)
    require_approval: bool = True
    created_at: datetime
    # Reminder cadence per step, in seconds; None means the global setting.
    remind_open_seconds: int | None = None
    remind_approval_seconds: int | None = None
    remind_propagating_seconds: int | None = None
    escalation_usergroup: str | None = Field(default=None, max_length=40)
    # Who deploys: "ledger" (the bot's database), "lifetime" or "webhook", and its settings.
    deployer: str = Field(default="ledger", max_length=20)
    deployer_settings: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class Module(SQLModel, table=True):
    __tablename__ = "module"
    __table_args__ = (UniqueConstraint("application_id", "name_key"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    name: str = Field(max_length=120)
    name_key: str = Field(max_length=120)
    # A module the catalog no longer lists; kept because past hotfixes' checklists name it.
    retired: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class Member(SQLModel, table=True):
    """A person's role in an application: owner or approver."""

    __tablename__ = "member"

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    user_id: str = Field(max_length=40, primary_key=True)
    role: str = Field(max_length=20, primary_key=True)


class AppVersion(SQLModel, table=True):
    """The version an application runs in one environment, and whether it has untagged changes."""

    __tablename__ = "app_version"

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    environment_id: int = Field(foreign_key="environment.id", primary_key=True)
    tag: str = Field(max_length=40)
    has_changes: bool = False


class ModuleRevision(SQLModel, table=True):
    __tablename__ = "module_revision"

    module_id: int = Field(foreign_key="module.id", primary_key=True)
    environment_id: int = Field(foreign_key="environment.id", primary_key=True)
    revision: int = 1


class UsedTag(SQLModel, table=True):
    """Every version tag an application has ever had, so a hotfix never reuses one."""

    __tablename__ = "used_tag"

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    tag: str = Field(max_length=40, primary_key=True)


class Hotfix(SQLModel, table=True):
    __tablename__ = "hotfix"
    __table_args__ = (
        # One unsolved hotfix per application, also under concurrent opens.
        Index(
            "uq_hotfix_one_active_per_application",
            "application_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    summary: str = Field(max_length=300)
    severity: str = Field(max_length=20)
    state: str = Field(max_length=30, index=True)
    opened_by: str = Field(max_length=40)
    opened_at: datetime
    base_version: str = Field(max_length=40)
    forced: bool = False
    hotfix_environment_had_changes: bool = False
    requested_version: str | None = Field(default=None, max_length=40)
    requested_by: str | None = Field(default=None, max_length=40)
    requested_at: datetime | None = None
    deployed_version: str | None = Field(default=None, max_length=40)
    deployed_by: str | None = Field(default=None, max_length=40)
    approved_by: str | None = Field(default=None, max_length=40)
    deployed_at: datetime | None = None
    closed_by: str | None = Field(default=None, max_length=40)
    closed_at: datetime | None = None
    close_reason: str | None = Field(default=None, max_length=500)
    revision: int = 0  # grows with every change; tells a stale view from a fresh one


class HotfixModule(SQLModel, table=True):
    __tablename__ = "hotfix_module"

    hotfix_id: int = Field(foreign_key="hotfix.id", primary_key=True)
    module_id: int = Field(foreign_key="module.id", primary_key=True)


class HotfixOwner(SQLModel, table=True):
    __tablename__ = "hotfix_owner"

    hotfix_id: int = Field(foreign_key="hotfix.id", primary_key=True)
    user_id: str = Field(max_length=40, primary_key=True)


class ChecklistItem(SQLModel, table=True):
    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("hotfix_id", "environment_id", "module_id"),)

    id: int | None = Field(default=None, primary_key=True)
    hotfix_id: int = Field(foreign_key="hotfix.id", index=True)
    environment_id: int = Field(foreign_key="environment.id")
    module_id: int = Field(foreign_key="module.id")
    status: str = Field(default="pending", max_length=20)
    reason: str | None = Field(default=None, max_length=500)
    done_by: str | None = Field(default=None, max_length=40)
    done_at: datetime | None = None
    # When the LifeTime watch first saw a new version of the module in the environment after
    # the Production deploy: evidence shown on the item, never a mark by itself.
    evidence_at: datetime | None = None
    evidence_told: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class Message(SQLModel, table=True):
    """A hotfix's living message in one channel: where it is, what it shows, what it should.

    Also the outbox of that message: `wanted_revision` is set in the transaction of every
    change, and a deliverer brings the message there (`shown_revision`). An empty `ts` means
    not posted yet. Claimed like a reminder, so one process at a time posts or updates it.
    """

    __tablename__ = "hotfix_message"

    hotfix_id: int = Field(foreign_key="hotfix.id", primary_key=True)
    channel: str = Field(max_length=40, primary_key=True)
    ts: str = Field(max_length=40)
    shown_revision: int = -1
    wanted_revision: int = Field(default=-1, sa_column_kwargs={"server_default": "-1"})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = None
    # Deliveries that took this row. Above zero while `ts` is empty, one of them may have posted
    # the message and died before keeping its ts: Slack is read before posting again.
    claims: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Outbox(SQLModel, table=True):
    """What Slack must still be told about a hotfix besides its living message: thread lines
    (events, deployment logs, warnings) and direct messages. Written in the transaction of the
    change, delivered after the commit, kept until delivered."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    # None for messages about no hotfix (the LifeTime watch's suggestions and their threads)
    hotfix_id: int | None = Field(default=None, foreign_key="hotfix.id", index=True)
    channel: str = Field(max_length=40)  # the living message's channel, or a user for a DM
    kind: str = Field(max_length=20)  # event, log, warning, dm, lifetime_change, ...
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # domain JSON
    created_at: datetime
    next_attempt_at: datetime = Field(index=True)
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, index=True)
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = None
    # Deliveries that took this line. Above zero, one of them may have sent it and died (or lost
    # Slack's answer) before recording it: Slack is read before sending again.
    claims: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Event(SQLModel, table=True):
    """The audit trail: who did what, when."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    hotfix_id: int | None = Field(default=None, foreign_key="hotfix.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id")
    at: datetime
    actor: str = Field(max_length=40)
    kind: str = Field(max_length=40)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class AppliedRequest(SQLModel, table=True):
    """Keys of requests already applied, so a retry or a double click applies nothing twice."""

    __tablename__ = "applied_request"

    key: str = Field(primary_key=True, max_length=200)
    at: datetime


class Reminder(SQLModel, table=True):
    """When a red hotfix's owners are nudged next. The database, not a scheduler's memory."""

    __tablename__ = "reminder"

    hotfix_id: int = Field(foreign_key="hotfix.id", primary_key=True)
    enabled: bool = True
    every_seconds: int | None = None  # a per-hotfix cadence from `/hotfix remind`
    next_due_at: datetime = Field(index=True)
    unanswered: int = 0  # nudge rounds since someone last acted on the hotfix
    pending_recipients: str | None = Field(default=None, sa_column=Column(Text))  # JSON list
    escalated_at: datetime | None = None
    failures: int = 0
    last_sent_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = None


class UserTimezone(SQLModel, table=True):
    """Slack users' time zones (users.info), cached for quiet hours."""

    __tablename__ = "user_timezone"

    user_id: str = Field(primary_key=True, max_length=40)
    tz: str | None = Field(default=None, max_length=80)
    fetched_at: datetime


class Deployment(SQLModel, table=True):
    """A Tag & Deploy handed to a deployment system, followed until it finishes."""

    __tablename__ = "deployment"

    id: int | None = Field(default=None, primary_key=True)
    hotfix_id: int = Field(foreign_key="hotfix.id", index=True)
    deployer: str = Field(max_length=20)
    version: str = Field(max_length=40)
    requested_by: str = Field(max_length=40)
    external_key: str | None = Field(default=None, max_length=120)
    # starting, running, needs_user_intervention, finished_successful, finished_with_warnings,
    # finished_with_errors, aborted, failed
    status: str = Field(default="starting", max_length=40)
    info: str = Field(default="", sa_column=Column(Text, nullable=False))
    log_lines: int = 0  # how many log lines were already told in the thread
    last_log: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime
    last_progress_at: datetime
    next_poll_at: datetime = Field(index=True)
    finished_at: datetime | None = None
    stuck: bool = False
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = None


class LifeTimeObservation(SQLModel, table=True):
    """What LifeTime last said an environment runs of an application (the watch's memory)."""

    __tablename__ = "lifetime_observation"

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    environment_id: int = Field(foreign_key="environment.id", primary_key=True)
    label: str = Field(max_length=60)  # "1.7.1", "1.7.1+" (untagged changes), "untagged"
    version: str | None = Field(default=None, max_length=40)
    modified: bool = False
    module_versions: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    observed_at: datetime
    changed_at: datetime  # when LifeTime's answer for this pair last changed


class LifeTimeSuggestion(SQLModel, table=True):
    """An untagged change in the hotfix environment the bot told the home channel about."""

    __tablename__ = "lifetime_suggestion"
    __table_args__ = (UniqueConstraint("application_id", "change"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    change: str = Field(max_length=64)  # digest of the changed modules and their versions
    modules: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    since: datetime
    posted_at: datetime | None = None
    channel: str | None = Field(default=None, max_length=40)
    ts: str | None = Field(default=None, max_length=40)
    dismissed_by: str | None = Field(default=None, max_length=40)
    dismissed_at: datetime | None = None
