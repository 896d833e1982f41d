"""Turns stored rows into the snapshots views render, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from commands.lifecycle import (
    ChecklistEntry,
    HotfixState,
    ItemStatus,
    active_environment,
    environment_complete,
)
from commands.pipeline import Pipeline
from commands.refs import Severity, format_hotfix_ref
from commands.results import (
    ApplicationSnapshot,
    ChecklistLine,
    DeploymentLine,
    EnvironmentLine,
    HotfixSnapshot,
    MessageRef,
)
from commands.versions import Version, suggest_hotfix_tag
from storage.models import EnvironmentRow, Hotfix
from storage.repository import (
    AnyApplication,
    AnyDeployment,
    AnyHotfix,
    AnyVersion,
    MemberRow,
    Repository,
)


def pipeline_of(rows: Sequence[EnvironmentRow]) -> Pipeline:
    hotfix = next((row.name for row in rows if row.is_hotfix_environment), None)
    return Pipeline.build([(row.name, row.alias) for row in rows], hotfix)


@dataclass(frozen=True)
class _Stage:
    """One environment as every snapshot line of it needs it, worked out once."""

    id: int
    name: str
    alias: str
    is_production: bool
    is_hotfix: bool
    propagated: bool  # in the propagation order (merged into from a checklist)


@dataclass(frozen=True)
class _Layout:
    pipeline: Pipeline
    stages: tuple[_Stage, ...]  # Production first, as people read a pipeline during a hotfix
    order: tuple[str, ...]  # propagation order
    names: dict[int, str]  # environment id -> name
    production_id: int


# The pipeline never changes once created (see Repository.environments), yet every snapshot
# worked out the same facts of it again, per hotfix. Keyed by the rows' values, so a process
# that saw another pipeline (tests create several databases) works it out again.
_LAYOUTS: dict[tuple[tuple[int, str, str, bool], ...], _Layout] = {}


def _layout(rows: Sequence[EnvironmentRow]) -> _Layout:
    key = tuple((row.id or 0, row.name, row.alias, row.is_hotfix_environment) for row in rows)
    layout = _LAYOUTS.get(key)
    if layout is None:
        pipeline = pipeline_of(rows)
        order = tuple(e.name for e in pipeline.propagation_order())
        stages = tuple(
            _Stage(
                id=row_id,
                name=name,
                alias=alias,
                is_production=name == pipeline.production.name,
                is_hotfix=name == pipeline.hotfix_environment_name,
                propagated=name in order,
            )
            for row_id, name, alias, _ in reversed(key)
        )
        names = {row_id: name for row_id, name, _, _ in key}
        production_id = key[-1][0] if key else 0
        layout = _LAYOUTS[key] = _Layout(pipeline, stages, order, names, production_id)
    return layout


def role_members(members: Sequence[MemberRow], role: str) -> tuple[str, ...]:
    return tuple(m.user_id for m in members if m.role == role)


@dataclass
class ApplicationFacts:
    """What both application and hotfix snapshots need, loaded once per request."""

    applications: dict[int, AnyApplication]
    versions: dict[int, dict[int, AnyVersion]]
    members: dict[int, list[MemberRow]]
    lifetime: dict[int, dict[int, str]]  # application id -> environment id -> LifeTime's label

    @classmethod
    def load(
        cls, repository: Repository, applications: Iterable[AnyApplication]
    ) -> ApplicationFacts:
        known = {a.id: a for a in applications if a.id is not None}
        versions, lifetime = repository.version_rows_of(known)
        return cls(
            applications=known,
            versions=versions,
            members=repository.members_of_applications(known),
            lifetime=lifetime,
        )


def hotfix_snapshots(
    repository: Repository, hotfixes: Sequence[AnyHotfix], facts: ApplicationFacts | None = None
) -> list[HotfixSnapshot]:
    """Snapshots of hotfixes in a fixed number of queries, whatever their number."""
    if not hotfixes:
        return []
    layout = _layout(repository.environments())
    names_by_id, order = layout.names, layout.order
    hotfix_ids = [h.id for h in hotfixes if h.id is not None]
    application_ids = {h.application_id for h in hotfixes}
    # Details first: their statement brings the applications' members too, so loading the
    # facts below finds them read (one statement and one set of rows fewer).
    details = repository.hotfix_details(hotfix_ids)
    if facts is None or not application_ids <= facts.applications.keys():
        facts = ApplicationFacts.load(
            repository, repository.application_rows(application_ids).values()
        )
    applications, versions, members = facts.applications, facts.versions, facts.members
    checklists = repository.checklist_rows(hotfix_ids)
    deployments = repository.deployment_rows(hotfix_ids)
    needs_tags = {h.application_id for h in hotfixes if h.state == HotfixState.OPEN}
    used = repository.used_tags_of(needs_tags)

    snapshots = []
    for hotfix in hotfixes:
        assert hotfix.id is not None
        application = applications[hotfix.application_id]
        module_names = dict(details.modules.get(hotfix.id, []))
        checklist = tuple(
            ChecklistLine(
                environment=names_by_id[item.environment_id],
                module=module_names.get(item.module_id, "?"),
                status=ItemStatus(item.status),
                reason=item.reason,
                done_by=item.done_by,
                done_at=item.done_at,
                evidence_at=item.evidence_at,
            )
            for item in checklists.get(hotfix.id, [])
        )
        state = HotfixState(hotfix.state)
        entries = [ChecklistEntry(c.environment, c.module, c.status) for c in checklist]
        active = active_environment(entries, order)
        production_tag = versions[hotfix.application_id][layout.production_id].tag
        suggested = None
        if state is HotfixState.OPEN:
            suggested = str(
                suggest_hotfix_tag(
                    Version.parse(production_tag),
                    (Version.parse(t) for t in used.get(hotfix.application_id, [])),
                )
            )
        app_members = members.get(hotfix.application_id, [])
        snapshots.append(
            HotfixSnapshot(
                id=hotfix.id,
                ref=format_hotfix_ref(hotfix.id),
                application=application.name,
                home_channel=application.home_channel,
                summary=hotfix.summary,
                severity=Severity(hotfix.severity),
                state=state,
                modules=tuple(module_names.values()),
                owners=tuple(details.owners.get(hotfix.id, [])),
                approvers=role_members(app_members, "approver"),
                opened_by=hotfix.opened_by,
                opened_at=hotfix.opened_at,
                base_version=hotfix.base_version,
                forced=hotfix.forced,
                require_approval=application.require_approval,
                pipeline=_hotfix_pipeline(
                    layout,
                    versions[hotfix.application_id],
                    facts.lifetime.get(hotfix.application_id, {}),
                    state,
                    entries,
                    order,
                    active,
                ),
                checklist=checklist,
                propagation_order=order,
                active_environment=active if state is HotfixState.PROPAGATING else None,
                suggested_version=suggested,
                requested_version=hotfix.requested_version,
                requested_by=hotfix.requested_by,
                deployed_version=hotfix.deployed_version,
                deployed_by=hotfix.deployed_by,
                approved_by=hotfix.approved_by,
                deployed_at=hotfix.deployed_at,
                closed_by=hotfix.closed_by,
                closed_at=hotfix.closed_at,
                close_reason=hotfix.close_reason,
                revision=hotfix.revision,
                messages=tuple(
                    MessageRef(channel, ts, revision)
                    for channel, ts, revision in details.messages.get(hotfix.id, [])
                ),
                deployment=_deployment_line(deployments.get(hotfix.id)),
                deployer=application.deployer,
            )
        )
    return snapshots


def _deployment_line(row: AnyDeployment | None) -> DeploymentLine | None:
    if row is None:
        return None
    return DeploymentLine(
        deployer=row.deployer,
        version=row.version,
        status=row.status,
        info=row.info,
        last_log=row.last_log,
        stuck=row.stuck,
        started_at=row.created_at,
    )


def _hotfix_pipeline(
    layout: _Layout,
    versions: dict[int, AnyVersion],
    lifetime: dict[int, str],
    state: HotfixState,
    entries: Sequence[ChecklistEntry],
    order: Sequence[str],
    active: str | None,
) -> tuple[EnvironmentLine, ...]:
    lines = []
    deployed = state in (HotfixState.PROPAGATING, HotfixState.SOLVED)
    for stage in layout.stages:
        version = versions[stage.id]
        if state is HotfixState.CANCELLED:
            fix = "cancelled"
        elif stage.is_production:
            fix = (
                "has the fix"
                if deployed
                else ("deploying the fix" if state is HotfixState.DEPLOYING else "runs the defect")
            )
        elif stage.is_hotfix:
            fix = _HOTFIX_ENVIRONMENT_FIX[state]
        elif stage.propagated:
            if deployed and environment_complete(entries, stage.name):
                fix = "has the fix"
            elif state is HotfixState.PROPAGATING and stage.name == active:
                fix = "merging now"
            else:
                fix = "waits for the fix"
        else:
            fix = "has the fix" if deployed else "waits for the deploy"
        lines.append(
            EnvironmentLine(
                name=stage.name,
                alias=stage.alias,
                tag=version.tag,
                has_changes=version.has_changes,
                red=stage.is_hotfix and state.is_red,
                is_production=stage.is_production,
                is_hotfix_environment=stage.is_hotfix,
                fix=fix,
                lifetime=lifetime.get(stage.id),
            )
        )
    return tuple(lines)


_HOTFIX_ENVIRONMENT_FIX = {
    HotfixState.OPEN: "hotfix in progress",
    HotfixState.AWAITING_APPROVAL: "waits for approval",
    HotfixState.DEPLOYING: "deploying to Production",
    HotfixState.PROPAGATING: "red until solved",
    HotfixState.SOLVED: "has the fix",
}


def application_snapshots(
    repository: Repository,
    applications: Sequence[AnyApplication],
    facts: ApplicationFacts | None = None,
    active: dict[int, Hotfix] | None = None,
) -> list[ApplicationSnapshot]:
    if not applications:
        return []
    layout = _layout(repository.environments())
    ids = [a.id for a in applications if a.id is not None]
    facts = facts or ApplicationFacts.load(repository, applications)
    versions, members = facts.versions, facts.members
    modules = repository.module_names_of(ids)
    if active is None:
        active = repository.active_hotfixes_of(ids)
    result = []
    for application in applications:
        assert application.id is not None
        hotfix = active.get(application.id)
        app_versions = versions.get(application.id, {})
        app_lifetime = facts.lifetime.get(application.id, {})
        lines = tuple(
            EnvironmentLine(
                name=stage.name,
                alias=stage.alias,
                tag=app_versions[stage.id].tag if stage.id in app_versions else "-",
                has_changes=(
                    app_versions[stage.id].has_changes if stage.id in app_versions else False
                ),
                red=hotfix is not None and stage.is_hotfix,
                is_production=stage.is_production,
                is_hotfix_environment=stage.is_hotfix,
                lifetime=app_lifetime.get(stage.id),
            )
            for stage in layout.stages
        )
        app_members = members.get(application.id, [])
        result.append(
            ApplicationSnapshot(
                name=application.name,
                modules=tuple(modules.get(application.id, [])),
                owners=role_members(app_members, "owner"),
                approvers=role_members(app_members, "approver"),
                home_channel=application.home_channel,
                require_approval=application.require_approval,
                pipeline=lines,
                active_hotfix=format_hotfix_ref(hotfix.id) if hotfix and hotfix.id else None,
            )
        )
    return result
