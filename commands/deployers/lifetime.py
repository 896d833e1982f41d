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
    DeploymentPlan,
    LifeTimeClient,
    LifeTimeError,
    LifeTimeRefused,
    LifeTimeUnauthorized,
    LifeTimeUnavailable,
)
from commands.deployers.port import (
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
    ) -> None:
        self.client = client
        self.application = application
        self.environments = dict(environments or {})

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
            return RunningVersion(state.version, state.is_modified)

        return _translated(read)

    def start(self, request: DeployRequest) -> Progress:
        return _translated(lambda: self._start(request))

    def _start(self, request: DeployRequest) -> Progress:
        client = self.client
        app = client.application_by_name(self.application or request.application)
        source = client.environment_by_name(self.lifetime_environment(request.source_environment))
        target = client.environment_by_name(self.lifetime_environment(request.target_environment))
        wanted = Version.parse(request.version)
        running = client.application_in_environment(target.key, app.key)
        current = running.version
        if current and _is_version(current) and wanted <= Version.parse(current):
            raise DeployRefused(
                f"{target.name} runs {current} in LifeTime: {request.version} would "
                "not be an upgrade, and the bot never deploys a lower version"
            )
        log = []
        at_source = client.application_in_environment(source.key, app.key)
        if (
            at_source.version == request.version
            and not at_source.is_modified
            and at_source.version_key
        ):
            version_key = at_source.version_key  # tagged by an earlier attempt
            log.append(f"{request.version} was already tagged in {source.name}")
        else:
            version_key = client.create_version(
                source.key,
                app.key,
                request.version,
                f"{request.hotfix_ref}: {request.summary} (hotfix via hotfix-bot)",
                at_source.module_version_keys,
            )
            log.append(f"Tagged {request.version} in {source.name}")
        key = client.create_deployment(
            source.key, target.key, version_key, f"{request.hotfix_ref} via hotfix-bot"
        )
        _, conflicts = client.deployment(key)
        if conflicts:
            raise DeployRefused(
                f"LifeTime found conflicts in deployment plan {key}: " + "; ".join(conflicts)
            )
        client.start(key)
        log.append(f"Started LifeTime deployment {key} from {source.name} to {target.name}")
        return Progress(RUNNING, log=tuple(log), external_key=key)

    def poll(self, external_key: str) -> Progress | None:
        def read() -> Progress:
            status = self.client.status(external_key)
            return Progress(
                status.status,
                status.info,
                tuple(line.message for line in status.log),
                external_key,
            )

        return _translated(read)

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


def _is_version(text: str) -> bool:
    try:
        Version.parse(text)
    except InvalidInput:
        return False
    return True
