"""The LifeTime deployer: tags and deploys through the OutSystems LifeTime Deployment API v2.

LifeTime has no hotfix state, so the bot keeps the lifecycle; LifeTime says what environments
run and does the deploying. Names of applications and environments are the bot's unless the
catalog maps them (`application:`, `environments: {Pre-Production: "Pre-Prod"}`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from commands.deployers.lifetime_api import (
    FORCE_FINISHED,
    SAVED,
    VERSION_READY_TIMEOUT_SECONDS,
    DeploymentPlan,
    LifeTimeClient,
    LifeTimeError,
    LifeTimeRefused,
    LifeTimeUnauthorized,
    LifeTimeUnavailable,
)
from commands.deployers.port import (
    FINISHED_SUCCESSFUL,
    FINISHED_WITH_ERRORS,
    RUNNING,
    DeployerUnavailable,
    DeployRefused,
    DeployRequest,
    Progress,
    RunningVersion,
)
from commands.errors import InvalidInput
from commands.versions import Version

T = TypeVar("T")


def _translated(call: Callable[[], T]) -> T:
    """LifeTime's errors in the port's terms: final refusals, or try-again-later."""
    try:
        return call()
    except (LifeTimeUnavailable, LifeTimeUnauthorized) as error:
        raise DeployerUnavailable(str(error)) from error
    except LifeTimeRefused as error:
        raise DeployRefused(str(error)) from error
    except LifeTimeError as error:
        raise DeployRefused(str(error)) from error


class LifeTimeDeployer:
    kind = "lifetime"
    immediate = False

    def __init__(
        self,
        client: LifeTimeClient,
        *,
        application: str | None = None,
        environments: Mapping[str, str] | None = None,
        version_ready_timeout: float = VERSION_READY_TIMEOUT_SECONDS,
    ) -> None:
        self.client = client
        self.application = application
        self.environments = dict(environments or {})
        self.version_ready_timeout = version_ready_timeout

    @classmethod
    def from_settings(cls, options: Mapping[str, Any], token: str) -> LifeTimeDeployer:
        return cls(
            LifeTimeClient(str(options["url"]), token),
            application=options.get("application"),
            environments=options.get("environments") or {},
        )

    def lifetime_environment(self, environment: str) -> str:
        return self.environments.get(environment, environment)

    def pipeline_environment(self, lifetime_name: str) -> str:
        for ours, theirs in self.environments.items():
            if theirs.casefold() == lifetime_name.casefold():
                return ours
        return lifetime_name

    def running(self, application: str, environment: str) -> RunningVersion | None:
        def read() -> RunningVersion:
            app = self.client.application_by_name(self.application or application)
            env = self.client.environment_by_name(self.lifetime_environment(environment))
            state = self.client.application_in_environment(env.key, app.key)
            if state.version is not None:
                _readable(state.version, f"LifeTime says {env.name} runs {app.name}")
            return RunningVersion(state.version, state.is_modified)

        return _translated(read)

    def start(self, request: DeployRequest) -> Progress:
        return _translated(lambda: self._start(request))

    def _start(self, request: DeployRequest) -> Progress:
        client = self.client
        app = client.application_by_name(self.application or request.application)
        source = client.environment_by_name(self.lifetime_environment(request.source_environment))
        target = client.environment_by_name(self.lifetime_environment(request.target_environment))
        wanted = _readable(request.version, "The version to deploy")
        current = client.application_in_environment(target.key, app.key).version
        # "Never deploy a lower version" is checked against what LifeTime says the target
        # runs; a version the bot cannot read stops the deployment rather than skip the rule.
        says = f"LifeTime says {target.name} runs {app.name}"
        if current is not None and wanted <= _readable(current, says):
            raise DeployRefused(
                f"{target.name} runs {current} in LifeTime: {request.version} would "
                "not be an upgrade, and the bot never deploys a lower version"
            )
        notes = []
        at_source = client.application_in_environment(source.key, app.key)
        if (
            at_source.version is not None
            and at_source.version_key
            and not at_source.is_modified
            and _readable(at_source.version, f"LifeTime says {source.name} runs it") == wanted
        ):
            version_key = at_source.version_key  # tagged by an earlier attempt
            notes.append(f"{at_source.version} was already tagged in {source.name}")
        else:
            version_key = client.create_version(
                source.key,
                app.key,
                request.version,
                f"{request.hotfix_ref}: {request.summary} (hotfix via hotfix-bot)",
                at_source.module_version_keys,
            )
            notes.append(f"Tagged {request.version} in {source.name}")
        client.wait_until_usable(app.key, version_key, timeout=self.version_ready_timeout)
        key = client.create_deployment(
            source.key, target.key, version_key, f"{request.hotfix_ref} via hotfix-bot"
        )
        _, conflicts = client.deployment(key)
        if conflicts:
            # A refused plan left saved would block the next one (before LifeTime 11.21.0 only
            # one plan per target environment may exist), so the bot removes what it created,
            # as the pipeline does (deploy_latest_tags_to_target_env.py deletes it on conflicts).
            cleanup = self._discard(key)
            raise DeployRefused(
                f"LifeTime found conflicts in deployment plan {key}: "
                + "; ".join(conflicts)
                + f". {cleanup}"
            )
        try:
            client.start(key)
        except LifeTimeError as error:
            return self._after_failed_start(key, error, notes)
        notes.append(f"Started LifeTime deployment {key} from {source.name} to {target.name}")
        return Progress(RUNNING, external_key=key, notes=tuple(notes))

    def _after_failed_start(self, key: str, error: LifeTimeError, notes: list[str]) -> Progress:
        """The start was refused or its answer lost: LifeTime's status of the plan decides."""
        try:
            status: str | None = self.client.status(key).status
        except LifeTimeError:
            status = None
        if status is None:
            # Whether it started cannot be told now: follow it rather than risk a deployment
            # running in LifeTime that nobody follows (stuck, it offers Mark deploy failed…).
            notes.append(
                f"LifeTime did not confirm the start of deployment {key} ({error.message}); "
                "the bot follows it to see what it does"
            )
            return Progress(SAVED, external_key=key, notes=tuple(notes))
        if status != SAVED:
            notes.append(f"Started LifeTime deployment {key} (an earlier try went through)")
            return Progress(status, external_key=key, notes=tuple(notes))
        cleanup = self._discard(key)
        message = f"LifeTime did not start deployment plan {key}: {error.message} {cleanup}"
        if isinstance(error, LifeTimeUnavailable | LifeTimeUnauthorized):
            raise DeployerUnavailable(message + " It will be tried again.") from error
        raise DeployRefused(message) from error

    def _discard(self, key: str) -> str:
        """Delete a plan the bot created and will not run; say what became of it."""
        try:
            self.client.delete_deployment(key)
        except LifeTimeError as error:
            return f"The bot could not delete the plan ({error.message}): delete it in LifeTime."
        return "The bot deleted the plan."

    def poll(self, external_key: str) -> Progress | None:
        def read() -> Progress:
            status = self.client.status(external_key)
            log = tuple(line.message for line in status.log)
            if status.status == FORCE_FINISHED:
                return self._after_force_finish(external_key, status.info, log)
            return Progress(status.status, status.info, log, external_key)

        return _translated(read)

    def _after_force_finish(self, key: str, info: str, log: tuple[str, ...]) -> Progress:
        """LifeTime ended the deployment by force: what the target now runs says how it went."""
        plan, _ = self.client.deployment(key)
        target = next(
            (env for env in self.client.environments() if env.key == plan.target_environment_key),
            None,
        )
        where = target.name if target else "the target environment"
        missing = []
        for app_key, version_key in plan.operations:
            state = self.client.application_in_environment(plan.target_environment_key, app_key)
            if state.version_key != version_key or state.is_modified:
                missing.append(state.label)
        if missing:
            note = (
                f"LifeTime force-finished deployment {key}; the bot asked LifeTime what {where} "
                f"runs: {', '.join(missing)}, not the deployed version, so the deploy failed."
            )
            return Progress(FINISHED_WITH_ERRORS, info or note, log, key, (note,))
        note = (
            f"LifeTime force-finished deployment {key}; the bot asked LifeTime what {where} "
            "runs: the deployed version, so the deploy is done."
        )
        return Progress(FINISHED_SUCCESSFUL, info or note, log, key, (note,))

    def continue_(self, external_key: str) -> None:
        _translated(lambda: self.client.continue_(external_key))

    def abort(self, external_key: str) -> None:
        _translated(lambda: self.client.abort(external_key))

    def plans_to(
        self, application: str, target_environment: str, since: datetime
    ) -> list[tuple[DeploymentPlan, str]]:
        """Deployment plans targeting an environment for this application since a moment,
        each with its source environment named as the pipeline names it."""

        def read() -> list[tuple[DeploymentPlan, str]]:
            app = self.client.application_by_name(self.application or application)
            target = self.client.environment_by_name(self.lifetime_environment(target_environment))
            names = {env.key: env.name for env in self.client.environments()}
            plans = self.client.deployments(since, target_environment_key=target.key)
            return [
                (plan, self.pipeline_environment(names.get(plan.source_environment_key, "?")))
                for plan in plans
                if any(app_key == app.key for app_key, _ in plan.operations)
            ]

        return _translated(read)


def _readable(text: str, what: str) -> Version:
    """A version LifeTime (or the bot) gave; one the bot cannot read stops the operation."""
    try:
        return Version.parse(text)
    except InvalidInput as error:
        raise DeployRefused(
            f"{what}: {text!r} is not a version the bot can read (MAJOR.MINOR or "
            "MAJOR.MINOR.REVISION), so it stops here rather than skip a check. Fix the version "
            "number in LifeTime, or deploy there by hand."
        ) from error
