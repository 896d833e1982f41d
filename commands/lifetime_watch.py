"""Watching LifeTime: what each environment really runs, and untagged changes worth a hotfix.

Every LIFETIME_WATCH_SECONDS the watch asks each LifeTime (applications are grouped by base URL
and token, since several may share one) for every application's status in every environment in
ONE request (``GET /applications/?IncludeEnvStatus=true&IncludeModules=true``), stores what it
says per application and environment, and finds untagged changes in the hotfix environment on
the version Production runs. Further calls are made only when such a change is first seen: the
module versions of Production's tagged version, and the names of the changed modules.

LifeTime unreachable or refusing: that LifeTime is backed off (doubling, capped), said once, and
nothing about a hotfix is changed. It knows nothing of Slack.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commands import outbox, runner
from commands.actors import Actor, require_member
from commands.context import ServiceContext
from commands.deployers.lifetime_api import AppStatus, LifeTimeClient, LifeTimeError
from commands.errors import InvalidInput, NotFound, Refused
from commands.lifetime_evidence import Evidence, evidence_in
from commands.outbox import Work
from commands.runner import ApplicationChange
from commands.snapshots import pipeline_of, role_members
from commands.versions import Version
from storage.models import Application, LifeTimeObservation, LifeTimeSuggestion
from storage.repository import Repository

log = logging.getLogger(__name__)

BACKOFF_CAP = timedelta(minutes=30)
ClientFactory = Callable[[str, str], LifeTimeClient]


@dataclass(frozen=True)
class WatchedApplication:
    application_id: int
    name: str  # the bot's name
    lifetime_name: str  # the catalog's `application:` or the bot's name
    environments: dict[str, str]  # the bot's environment name -> LifeTime's


@dataclass(frozen=True)
class Suggestion:
    """An untagged change in the hotfix environment, to be told once in the home channel."""

    id: int
    application: str
    channel: str
    environment: str  # the hotfix environment
    version: str  # the version Production runs, which the hotfix environment is modified from
    modules: tuple[str, ...]
    since: datetime

    def payload(self) -> dict[str, Any]:
        """The outbox line's content: domain data, rendered by the bot when it delivers."""
        return {
            "suggestion": self.id,
            "application": self.application,
            "environment": self.environment,
            "version": self.version,
            "modules": list(self.modules),
            "since": self.since.isoformat(),
        }

    @classmethod
    def of(cls, channel: str, payload: dict[str, Any]) -> Suggestion:
        return cls(
            id=int(payload["suggestion"]),
            application=str(payload["application"]),
            channel=channel,
            environment=str(payload["environment"]),
            version=str(payload["version"]),
            modules=tuple(str(m) for m in payload["modules"]),
            since=datetime.fromisoformat(str(payload["since"])),
        )


@dataclass
class _Group:
    """One LifeTime (base URL + token) and how it has answered lately."""

    failures: int = 0
    next_try_at: datetime | None = None
    down_since: datetime | None = None
    problem: str = ""
    environments: dict[str, str] = field(default_factory=dict)  # LifeTime key -> name


@dataclass
class WatchReport:
    asked: int = 0  # LifeTimes asked this round
    skipped: int = 0  # LifeTimes still backed off
    observed: int = 0  # (application, environment) pairs stored
    suggestions: list[Suggestion] = field(default_factory=list)  # new, not yet posted
    evidence: list[Evidence] = field(default_factory=list)  # new, owners told via the outbox
    works: list[Work] = field(default_factory=list)  # outbox work claimed for the fast path


def _default_client(url: str, token: str) -> LifeTimeClient:
    return LifeTimeClient(url, token, retries=0)


class LifeTimeWatch:
    """The watch's state between rounds: back-off per LifeTime and its environment keys."""

    def __init__(
        self,
        ctx: ServiceContext,
        every: timedelta,
        *,
        client_factory: ClientFactory = _default_client,
    ) -> None:
        self.ctx = ctx
        self.every = every
        self.client_factory = client_factory
        self._groups: dict[tuple[str, str], _Group] = {}

    # ----------------------------------------------------------------------------- state

    def problems(self) -> dict[str, str]:
        """LifeTime base URL -> what is wrong with it, for `/readyz` details."""
        return {url: group.problem for (url, _), group in self._groups.items() if group.problem}

    # ------------------------------------------------------------------------------ round

    def poll(self) -> WatchReport:
        report = WatchReport()
        token = self.ctx.deployer_secrets.lifetime_token
        groups = watched_groups(self.ctx)
        if not groups or not token:
            return report
        now = self.ctx.now()
        for url, apps in groups.items():
            state = self._groups.setdefault((url, token), _Group())
            if state.next_try_at is not None and now < state.next_try_at:
                report.skipped += 1
                continue
            report.asked += 1
            client = self.client_factory(url, token)
            try:
                statuses = client.application_statuses()
                if not state.environments or _unknown_keys(statuses, state.environments):
                    state.environments = {env.key: env.name for env in client.environments()}
                for app in apps:
                    report.observed += self._observe(client, app, statuses, state, report)
            except LifeTimeError as error:
                self._back_off(url, state, error, now)
                continue
            finally:
                client.close()
            if state.problem:
                log.info("LifeTime at %s answers again", url)
            state.failures, state.next_try_at, state.down_since, state.problem = 0, None, None, ""
        return report

    def _back_off(self, url: str, state: _Group, error: LifeTimeError, now: datetime) -> None:
        """Wait longer after each failure (capped); say it once, not every round."""
        state.failures += 1
        wait = min(self.every * (2 ** (state.failures - 1)), BACKOFF_CAP)
        state.next_try_at = now + wait
        if state.down_since is None:
            state.down_since = now
            log.warning(
                "LifeTime watch: %s did not answer usefully (%s); the watch backs off "
                "(up to %d min) and changes no hotfix meanwhile",
                url,
                error.message,
                int(BACKOFF_CAP.total_seconds() // 60),
            )
        state.problem = (
            f"unreachable or refusing since {state.down_since:%H:%M} UTC, "
            f"next try {state.next_try_at:%H:%M:%S} UTC"
        )

    def _observe(
        self,
        client: LifeTimeClient,
        app: WatchedApplication,
        statuses: list[AppStatus],
        state: _Group,
        report: WatchReport,
    ) -> int:
        mine = [
            s for s in statuses if s.application_name.casefold() == app.lifetime_name.casefold()
        ]
        by_env = {state.environments.get(s.environment_key, ""): s for s in mine}
        stored = 0
        with self.ctx.db.write() as repository:
            environments = repository.environments()
            pipeline = pipeline_of(environments)
            published: dict[int, tuple[AppStatus, set[str]]] = {}  # env id -> new versions
            for row in environments:
                theirs = app.environments.get(row.name, row.name)
                status = _by_name(by_env, theirs)
                if status is None or row.id is None:
                    continue
                before = _remember(repository, app.application_id, row.id, status, self.ctx.now())
                if before is not None and set(status.module_version_keys) - before:
                    published[row.id] = (status, before)
                stored += 1
            repository.flush()
            if published:
                found = evidence_in(
                    self.ctx, repository, client, app.application_id, app.name, published
                )
                report.evidence += found.evidence
                if found.work is not None:
                    report.works.append(found.work)
            hotfix_env = pipeline.hotfix_environment.name
            hotfix = _by_name(by_env, app.environments.get(hotfix_env, hotfix_env))
            production_name = pipeline.production.name
            production = _by_name(by_env, app.environments.get(production_name, production_name))
            if hotfix is None or production is None or not _worth_a_hotfix(hotfix, production):
                return stored
            if repository.active_hotfix(app.application_id) is not None:
                return stored
            new_versions = sorted(
                set(hotfix.module_version_keys) - set(production.module_version_keys)
            )
            change = hashlib.sha256("\n".join(new_versions).encode()).hexdigest()
            known = repository.lifetime_suggestion_for_change(app.application_id, change)
            if known is not None:
                return stored
            row_app = repository.application(app.application_id)
            if not row_app.home_channel:
                return stored
            modules = _changed_modules(client, production, hotfix)
            hotfix_id = _env_id(environments, hotfix_env)
            observation = repository.lifetime_observation(app.application_id, hotfix_id)
            since = observation.changed_at if observation is not None else self.ctx.now()
            suggestion = LifeTimeSuggestion(
                application_id=app.application_id,
                change=change,
                modules=json.dumps(modules),
                since=since,
            )
            repository.add(suggestion)
            repository.flush()
            assert suggestion.id is not None
            told = Suggestion(
                id=suggestion.id,
                application=app.name,
                channel=row_app.home_channel,
                environment=hotfix_env,
                version=production.version or "",
                modules=tuple(modules),
                since=since,
            )
            # The message is recorded with the observation: sent at least once, after the commit.
            outbox.record_unattached(
                repository, told.channel, outbox.LIFETIME_CHANGE, told.payload(), self.ctx.now()
            )
            report.suggestions.append(told)
        return stored


def watched_groups(ctx: ServiceContext) -> dict[str, list[WatchedApplication]]:
    """Applications with `deployer: lifetime`, by LifeTime base URL (one token for all)."""
    groups: dict[str, list[WatchedApplication]] = {}
    with ctx.db.read() as repository:
        for app in repository.applications():
            if app.deployer != "lifetime" or app.id is None:
                continue
            options: dict[str, Any] = json.loads(app.deployer_settings or "{}")
            url = str(options.get("url") or "").rstrip("/")
            if not url:
                continue
            groups.setdefault(url, []).append(
                WatchedApplication(
                    application_id=app.id,
                    name=app.name,
                    lifetime_name=str(options.get("application") or app.name),
                    environments=dict(options.get("environments") or {}),
                )
            )
    return groups


def still_worth_telling(ctx: ServiceContext, suggestion_id: int) -> bool:
    """Checked right before the message is sent: a change dismissed, or in hand because a
    hotfix was opened meanwhile, is not told any more."""
    with ctx.db.read() as repository:
        row = repository.lifetime_suggestion(suggestion_id)
        if row is None or row.dismissed_at is not None or row.posted_at is not None:
            return False
        return repository.active_hotfix(row.application_id) is None


def mark_posted(ctx: ServiceContext, suggestion_id: int, channel: str, ts: str) -> None:
    with ctx.db.write() as repository:
        row = repository.lifetime_suggestion(suggestion_id)
        if row is not None:
            row.posted_at, row.channel, row.ts = ctx.now(), channel, ts


def dismiss(
    ctx: ServiceContext,
    actor: Actor,
    suggestion_id: int,
    reason: str,
    *,
    request_key: str | None = None,
) -> Suggestion:
    """*Not a hotfix…*: a change like any other, through the operation runner: the suggestion
    locked, the actor checked (owners, approvers or admins of the application), the request key
    remembered (a double click applies nothing), the reason recorded in the audit event."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why this change is not a hotfix (the reason is recorded)")

    def lock(repository: Repository) -> LifeTimeSuggestion:
        row = repository.lifetime_suggestion(suggestion_id, for_update=True)
        if row is None:
            raise NotFound(f"there is no LifeTime suggestion {suggestion_id}")
        return row

    def authorize(repository: Repository, row: LifeTimeSuggestion) -> None:
        app = repository.application(row.application_id)
        members = repository.members(row.application_id)
        require_member(
            actor,
            role_members(members, "owner"),
            role_members(members, "approver"),
            f"say untagged changes of {app.name} are not a hotfix",
        )

    def apply(
        repository: Repository, row: LifeTimeSuggestion, now: datetime
    ) -> ApplicationChange[Suggestion]:
        if row.dismissed_at is not None:
            raise Refused(f"<@{row.dismissed_by}> already said these changes are not a hotfix")
        app = repository.application(row.application_id)
        hotfix_env = pipeline_of(repository.environments()).hotfix_environment.name
        row.dismissed_by, row.dismissed_at = actor.user_id, now
        repository.add(row)
        told = _suggestion(row, app, hotfix_env, "")
        if told.channel:
            # Said in the message's thread, recorded with the dismissal (sent at least once).
            outbox.record_unattached(
                repository,
                told.channel,
                outbox.LIFETIME_DISMISSED,
                {
                    "thread_ts": row.ts or "",
                    "application": app.name,
                    "modules": list(told.modules),
                    "user": actor.user_id,
                    "reason": reason,
                },
                now,
            )
        return ApplicationChange(
            application_id=row.application_id,
            kind="lifetime_change_dismissed",
            details={
                "suggestion": suggestion_id,
                "modules": json.loads(row.modules),
                "reason": reason,
            },
            result=lambda _: told,
        )

    told: Suggestion = runner.run(
        ctx,
        actor,
        lock=lock,
        authorize=authorize,
        apply=apply,
        request_key=request_key,
        conflict="someone else answered this LifeTime change at the same time; try again",
    )
    return told


def suggestion(ctx: ServiceContext, suggestion_id: int) -> Suggestion:
    with ctx.db.read() as repository:
        row = repository.lifetime_suggestion(suggestion_id)
        if row is None:
            raise InvalidInput(f"there is no LifeTime suggestion {suggestion_id}")
        app = repository.application(row.application_id)
        hotfix_env = pipeline_of(repository.environments()).hotfix_environment.name
        return _suggestion(row, app, hotfix_env, "")


def lifetime_labels(ctx: ServiceContext, application_id: int) -> dict[str, str]:
    """Environment name -> what LifeTime last said it runs (``1.7.1+``), for pipeline lines."""
    with ctx.db.read() as repository:
        names = {row.id: row.name for row in repository.environments()}
        rows = repository.lifetime_observations(application_id)
        return {names[row.environment_id]: row.label for row in rows if row.environment_id in names}


# ----------------------------------------------------------------------------- helpers


def _suggestion(
    row: LifeTimeSuggestion, app: Application, environment: str, version: str
) -> Suggestion:
    assert row.id is not None
    return Suggestion(
        id=row.id,
        application=app.name,
        channel=row.channel or app.home_channel or "",
        environment=environment,
        version=version,
        modules=tuple(json.loads(row.modules)),
        since=row.since,
    )


def _unknown_keys(statuses: Iterable[AppStatus], known: dict[str, str]) -> bool:
    return any(status.environment_key not in known for status in statuses)


def _by_name(by_env: dict[str, AppStatus], name: str) -> AppStatus | None:
    wanted = name.casefold()
    return next((s for env, s in by_env.items() if env.casefold() == wanted), None)


def _env_id(environments: Iterable[Any], name: str) -> int:
    return next(int(row.id) for row in environments if row.name == name)


def _worth_a_hotfix(hotfix: AppStatus, production: AppStatus) -> bool:
    """Untagged changes on the very version Production runs: the shape of a hotfix."""
    if not hotfix.is_modified or hotfix.version is None or production.version is None:
        return False
    try:
        return Version.parse(hotfix.version) == Version.parse(production.version)
    except InvalidInput:
        return False


def _changed_modules(client: LifeTimeClient, production: AppStatus, hotfix: AppStatus) -> list[str]:
    """Modules whose version in the hotfix environment is not the one of the version Production
    runs: the tagged version's ModuleVersions say which module each version key belongs to."""
    if production.version_key is None:
        return []
    tagged = client.version_modules(production.application_key, production.version_key)
    running = set(hotfix.module_version_keys)
    changed = [module for module, version in tagged.items() if version not in running]
    return sorted(client.module_name(module) for module in changed)


def _remember(
    repository: Repository,
    application_id: int,
    environment_id: int,
    status: AppStatus,
    now: datetime,
) -> set[str] | None:
    """Store what LifeTime says; return the module versions it said last time (None: never)."""
    modules = json.dumps(sorted(status.module_version_keys))
    row = repository.lifetime_observation(application_id, environment_id)
    if row is None:
        repository.add(
            LifeTimeObservation(
                application_id=application_id,
                environment_id=environment_id,
                label=status.label,
                version=status.version,
                modified=status.is_modified,
                module_versions=modules,
                observed_at=now,
                changed_at=now,
            )
        )
        return None
    before = set(json.loads(row.module_versions))
    if row.label != status.label or row.module_versions != modules:
        row.changed_at = now
    row.label, row.version, row.modified = status.label, status.version, status.is_modified
    row.module_versions, row.observed_at = modules, now
    return before
