"""Applications and the pipeline: the catalog load and the admin operations."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from commands import runner
from commands.actors import Actor, require_admin
from commands.catalog_file import ApplicationSpec, CatalogSpec, read_catalog
from commands.context import ServiceContext
from commands.durations import format_duration
from commands.errors import InvalidInput, NotFound, Refused
from commands.hotfixes import find_application
from commands.pipeline import DEFAULT_ENVIRONMENTS, Pipeline
from commands.refs import format_hotfix_ref
from commands.results import ApplicationSnapshot
from commands.runner import ApplicationChange, ApplicationEvent, CatalogChange
from commands.snapshots import application_snapshots, pipeline_of
from commands.versions import Version, display
from storage.models import (
    Application,
    AppVersion,
    EnvironmentRow,
    Hotfix,
    Module,
    ModuleRevision,
)
from storage.repository import Repository

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,119}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pipeline_created: bool = False
    # What changed, one line each ("eCommerce: module Search added").
    changes: list[str] = field(default_factory=list)
    # Versions the bot recorded that the file disagrees with; a reload never moves them.
    kept: list[str] = field(default_factory=list)
    dry_run: bool = False


def load_catalog(
    ctx: ServiceContext,
    actor: Actor,
    path: Path,
    *,
    set_versions: bool = False,
    dry_run: bool = False,
    request_key: str | None = None,
) -> LoadReport:
    """Declare the pipeline and applications. Idempotent; a bad file writes nothing."""
    spec = read_catalog(path)
    return apply_catalog(
        ctx, actor, spec, set_versions=set_versions, dry_run=dry_run, request_key=request_key
    )


def apply_catalog(
    ctx: ServiceContext,
    actor: Actor,
    spec: CatalogSpec,
    *,
    set_versions: bool = False,
    dry_run: bool = False,
    request_key: str | None = None,
) -> LoadReport:
    """Versions in the file seed new applications only; the bot's records win afterwards.

    A catalog lives in git and is applied again and again; the bot moves versions itself as
    hotfixes are deployed, so a reload that rewound them would undo Production's real state.
    `set_versions` moves recorded versions forward, never back.

    An admin change like the others, through the operation runner: the applications the file
    names are locked, the actor checked, the request key remembered, one audit event written
    per application changed. A dry run does all of it and rolls it back.
    """
    require_admin(actor, "load a catalog")
    report = LoadReport(dry_run=dry_run)

    def lock(repository: Repository) -> None:
        # The applications that exist, in one order, so two loads never wait on each other
        # crosswise; a new name is settled by its unique key.
        for key in sorted({application.name.casefold() for application in spec.applications}):
            repository.application_by_name(key, for_update=True)

    def apply(repository: Repository, _: None, now: datetime) -> CatalogChange[LoadReport]:
        environments, report.pipeline_created = _ensure_pipeline(
            repository, spec.environments, spec.hotfix_environment, spec.source
        )
        pipeline = pipeline_of(environments)
        changed: list[ApplicationEvent] = []
        for application in spec.applications:
            versions = _resolve_versions(spec, application, pipeline)
            seen = len(report.changes)
            outcome = _upsert_application(
                repository, application, versions, environments, now, report, set_versions
            )
            getattr(report, outcome).append(application.name)
            if outcome != "unchanged":
                changed.append(
                    ApplicationEvent(
                        _id(repository.application_by_name(application.name)),
                        f"application_{outcome}",
                        {"source": spec.source, "changes": report.changes[seen:]},
                    )
                )
        return CatalogChange(changed, lambda repository: report)

    committed = False
    try:
        loaded: LoadReport = runner.run(
            ctx,
            actor,
            lock=lock,
            authorize=lambda repository, _: require_admin(actor, "load a catalog"),
            apply=apply,
            request_key=request_key,
            conflict=f"{spec.source}: another change to these applications came at the same "
            "moment; load the catalog again",
            dry_run=dry_run,
        )
        committed = not dry_run
    finally:
        if report.pipeline_created and not committed:
            # A pipeline made in a transaction that was rolled back may have been cached.
            ctx.db.cache.pop("environments", None)
    return loaded


def export_catalog(ctx: ServiceContext) -> str:
    """Today's catalog as YAML: loading it back changes nothing."""
    import yaml

    with ctx.db.read() as repository:
        environments = repository.environments()
        if not environments:
            raise Refused("the database has no pipeline yet: load a catalog first")
        pipeline = pipeline_of(environments)
        hotfix_alias = next(
            row.alias for row in environments if row.name == pipeline.hotfix_environment_name
        )
        apps = repository.applications()
        ids = [_id(app) for app in apps]
        modules = repository.modules_of_applications(ids)
        members = repository.members_of_applications(ids)
        versions = repository.versions_of_applications(ids)
        entries: list[dict[str, object]] = []
        for app in sorted(apps, key=lambda row: _id(row)):
            app_id = _id(app)
            entry: dict[str, object] = {"name": app.name}
            if app.home_channel:
                entry["home_channel"] = app.home_channel
            entry["require_approval"] = app.require_approval
            for role in ("owner", "approver"):
                users = sorted(m.user_id for m in members.get(app_id, []) if m.role == role)
                if users:
                    entry[f"{role}s"] = users
            entry["modules"] = [module.name for module in modules.get(app_id, [])]
            reminders: dict[str, str] = {}
            for step, seconds in (
                ("open", app.remind_open_seconds),
                ("awaiting_approval", app.remind_approval_seconds),
                ("propagating", app.remind_propagating_seconds),
            ):
                if seconds:
                    reminders[step] = format_duration(timedelta(seconds=seconds))
            if app.escalation_usergroup:
                reminders["escalation_usergroup"] = app.escalation_usergroup
            if reminders:
                entry["reminders"] = reminders
            if app.deployer != "ledger":
                entry["deployer"] = {"kind": app.deployer, **json.loads(app.deployer_settings)}
            recorded = versions.get(app_id, {})
            entry["versions"] = {
                row.alias: display(recorded[_id(row)].tag, recorded[_id(row)].has_changes)
                for row in reversed(environments)
                if _id(row) in recorded
            }
            entries.append(entry)
    document = {
        "pipeline": {
            "environments": [{"name": row.name, "alias": row.alias} for row in environments],
            "hotfix_environment": hotfix_alias,
        },
        "applications": entries,
    }
    header = "# Exported by `hotfix-bot catalog export`: today's catalog, versions as recorded.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def add_application(
    ctx: ServiceContext,
    actor: Actor,
    name: str,
    modules: Sequence[str],
    version: str,
    *,
    home_channel: str | None = None,
) -> ApplicationSnapshot:
    """`/hotfix app add`: every environment starts at `version`, in sync."""
    require_admin(actor, "add an application")
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidInput(
            f"'{name}' is not a usable application name: letters, digits, spaces, . _ - "
            "(120 characters at most)"
        )
    cleaned = list(dict.fromkeys(m.strip() for m in modules if m.strip()))
    if not cleaned:
        raise InvalidInput("list at least one module, e.g. Checkout,Payments")
    for module in cleaned:
        if not _NAME.match(module):
            raise InvalidInput(f"'{module}' is not a usable module name")
    tag = str(Version.parse(version))

    def apply(
        repository: Repository, _: None, now: datetime
    ) -> ApplicationChange[ApplicationSnapshot]:
        if repository.application_by_name(name) is not None:
            raise Refused(
                f"there is already an application '{name}': `/hotfix status {name}` shows it"
            )
        environments, _created = _ensure_pipeline(repository, None, None, "defaults")
        spec = ApplicationSpec(name=name, line=0, modules=cleaned, home_channel=home_channel)
        versions = {row.name: (tag, False) for row in environments}
        _upsert_application(repository, spec, versions, environments, now)
        app = repository.application_by_name(name)
        assert app is not None
        return ApplicationChange(
            _id(app),
            "application_created",
            {"modules": cleaned, "version": tag},
            lambda repository: application_snapshots(repository, [app])[0],
        )

    snapshot: ApplicationSnapshot = runner.run(
        ctx,
        actor,
        lock=lambda repository: None,  # a new name: the unique key settles a race
        authorize=lambda repository, _: require_admin(actor, "add an application"),
        apply=apply,
        conflict=f"'{name}' was added by someone else at the same moment",
    )
    return snapshot


def set_members(
    ctx: ServiceContext, actor: Actor, application: str, role: str, users: Sequence[str]
) -> ApplicationSnapshot:
    """`/hotfix app owners` and `/hotfix app approvers`: replace the list."""
    require_admin(actor, f"change an application's {role}s")
    if role not in ("owner", "approver"):
        raise InvalidInput(f"unknown role '{role}': owner or approver")
    cleaned = list(dict.fromkeys(u.strip() for u in users if u.strip()))
    if not cleaned:
        raise InvalidInput(f"name at least one {role}, e.g. @ana")
    for user in cleaned:
        if not _USER.match(user):
            raise InvalidInput(f"'{user}' is not a Slack user")

    def apply(
        repository: Repository, app: Application, now: datetime
    ) -> ApplicationChange[ApplicationSnapshot]:
        repository.replace_members(_id(app), role, cleaned)
        return ApplicationChange(
            _id(app),
            f"{role}s_set",
            {"users": cleaned},
            lambda repository: application_snapshots(repository, [app])[0],
        )

    snapshot: ApplicationSnapshot = runner.run(
        ctx,
        actor,
        lock=lambda repository: find_application(repository, application, for_update=True),
        authorize=lambda repository, app: require_admin(actor, f"change an application's {role}s"),
        apply=apply,
        conflict=f"{application}'s {role}s were changed by someone else at the same moment",
    )
    return snapshot


def deployer_kinds(ctx: ServiceContext) -> dict[str, list[str]]:
    """Which applications deploy with what: the secrets `serve` needs follow from it."""
    kinds: dict[str, list[str]] = {}
    with ctx.db.read() as repository:
        for app in repository.applications():
            kinds.setdefault(app.deployer, []).append(app.name)
    return kinds


def ensure_pipeline(ctx: ServiceContext) -> list[str]:
    """Create the default pipeline when the database has none; return environment names."""
    with ctx.db.write() as repository:
        environments, _ = _ensure_pipeline(repository, None, None, "defaults")
        return [row.name for row in environments]


# helpers --------------------------------------------------------------------------------------


def _ensure_pipeline(
    repository: Repository,
    wanted: list[tuple[str, str]] | None,
    hotfix_environment: str | None,
    source: str,
) -> tuple[list[EnvironmentRow], bool]:
    existing = repository.environments()
    if existing:
        if wanted is not None:
            current = [(row.name, row.alias) for row in existing]
            wanted_pipeline = Pipeline.build(wanted, hotfix_environment)
            if current != list(wanted) or (
                pipeline_of(existing).hotfix_environment_name
                != wanted_pipeline.hotfix_environment_name
            ):
                raise Refused(
                    f"{source}: its pipeline differs from the one in the database "
                    f"({' → '.join(name for name, _ in current)}); environments cannot be "
                    "changed by a catalog load"
                )
        return existing, False
    pipeline = Pipeline.build(wanted or list(DEFAULT_ENVIRONMENTS), hotfix_environment)
    rows = [
        repository.add(
            EnvironmentRow(
                name=environment.name,
                alias=environment.alias,
                position=environment.position,
                is_hotfix_environment=environment.name == pipeline.hotfix_environment_name,
            )
        )
        for environment in pipeline.environments
    ]
    repository.flush()
    return rows, True


def _resolve_versions(
    spec: CatalogSpec, application: ApplicationSpec, pipeline: Pipeline
) -> dict[str, tuple[str, bool]]:
    versions: dict[str, tuple[str, bool]] = {}
    where = f"application '{application.name}'"
    for key, version in application.versions.items():
        try:
            environment = pipeline.find(key)
        except InvalidInput as error:
            raise spec.error(version.line, f"{where} versions.{key}", error.message) from error
        if environment.name in versions:
            raise spec.error(
                version.line, f"{where} versions.{key}", f"{environment.name} is given twice"
            )
        versions[environment.name] = (version.tag, version.has_changes)
    missing = [e.name for e in pipeline.environments if e.name not in versions]
    if missing:
        raise spec.error(
            application.versions_line,
            f"{where} versions",
            f"give the version of every environment; missing: {', '.join(missing)}",
        )
    return versions


def _upsert_application(
    repository: Repository,
    spec: ApplicationSpec,
    versions: dict[str, tuple[str, bool]],
    environments: list[EnvironmentRow],
    now: datetime,
    report: LoadReport | None = None,
    set_versions: bool = False,
) -> str:
    report = report or LoadReport()
    app = repository.application_by_name(spec.name, for_update=True)
    created = app is None
    changes: list[str] = []
    if app is None:
        app = repository.add(
            Application(name=spec.name, name_key=spec.name.casefold(), created_at=now)
        )
        repository.flush()
    app_id = _id(app)
    active = None if created else repository.active_hotfix(app_id)
    for attribute, value in (
        ("name", spec.name),
        ("home_channel", spec.home_channel),
        ("require_approval", spec.require_approval),
        ("remind_open_seconds", spec.remind_open_seconds),
        ("remind_approval_seconds", spec.remind_approval_seconds),
        ("remind_propagating_seconds", spec.remind_propagating_seconds),
        ("escalation_usergroup", spec.escalation_usergroup),
        ("deployer", spec.deployer),
        ("deployer_settings", json.dumps(spec.deployer_settings, sort_keys=True)),
    ):
        before = getattr(app, attribute)
        if before != value:
            setattr(app, attribute, value)
            if not created:
                changes.append(f"{spec.name}: {attribute} {before} → {value}")
    repository.add(app)
    _sync_modules(repository, spec, app_id, active, environments, created, changes)
    for role, users in (("owner", spec.owners), ("approver", spec.approvers)):
        current = sorted(m.user_id for m in repository.members(app_id) if m.role == role)
        if current != sorted(users):
            repository.replace_members(app_id, role, users)
            if not created:
                changes.append(
                    f"{spec.name}: {role}s {', '.join(current) or 'none'} → "
                    f"{', '.join(sorted(users)) or 'none'}"
                )
    current_versions = repository.versions(app_id)
    for row in environments:
        tag, has_changes = versions[row.name]
        version = current_versions.get(_id(row))
        wanted = display(tag, has_changes)
        if version is None:
            # A new application or a new environment: the file seeds the version.
            repository.add(
                AppVersion(
                    application_id=app_id, environment_id=_id(row), tag=tag, has_changes=has_changes
                )
            )
            repository.use_tag(app_id, tag)
            if not created:
                changes.append(f"{spec.name} {row.name}: version {wanted} (new)")
            continue
        recorded = display(version.tag, version.has_changes)
        if recorded == wanted:
            continue
        if not set_versions:
            report.kept.append(f"{spec.name} {row.name}: kept {recorded} (the file says {wanted})")
            continue
        if active is not None and active.id is not None:
            raise Refused(
                f"{spec.name} has the unsolved hotfix {format_hotfix_ref(active.id)}: its "
                f"versions cannot be set until it is solved or cancelled ({row.name})"
            )
        # `1.7.0+` (changes on top of 1.7.0) is ahead of `1.7.0` and behind `1.7.1`.
        if (Version.parse(tag), has_changes) < (Version.parse(version.tag), version.has_changes):
            raise Refused(
                f"{spec.name} {row.name}: {wanted} is older than the recorded {recorded}; "
                "--set-versions only moves versions forward"
            )
        version.tag = tag
        version.has_changes = has_changes
        repository.add(version)
        repository.use_tag(app_id, tag)
        changes.append(f"{spec.name} {row.name}: version {recorded} → {wanted}")
    report.changes.extend(changes)
    if created:
        report.changes.append(f"{spec.name}: created")
        return "created"
    return "updated" if changes else "unchanged"


def _sync_modules(
    repository: Repository,
    spec: ApplicationSpec,
    app_id: int,
    active: Hotfix | None,
    environments: list[EnvironmentRow],
    created: bool,
    changes: list[str],
) -> None:
    """Add, bring back and retire modules; never one the unsolved hotfix works on."""
    existing = {m.name_key: m for m in repository.modules(app_id, with_retired=True)}
    wanted = {name.casefold() for name in spec.modules}
    in_use: set[int] = set()
    if active is not None and active.id is not None:
        in_use = {_id(m) for m in repository.hotfix_modules([active.id]).get(active.id, [])}
        in_use |= {item.module_id for item in repository.checklists([active.id]).get(active.id, [])}
    for key, module in existing.items():
        if key in wanted or module.retired:
            continue
        if _id(module) in in_use and active is not None and active.id is not None:
            raise Refused(
                f"{spec.name}: module {module.name} cannot be removed while the unsolved "
                f"hotfix {format_hotfix_ref(active.id)} uses it; solve or cancel it first"
            )
        module.retired = True
        repository.add(module)
        changes.append(f"{spec.name}: module {module.name} removed")
    new_modules: list[Module] = []
    for name in spec.modules:
        known = existing.get(name.casefold())
        if known is None:
            new_modules.append(
                repository.add(Module(application_id=app_id, name=name, name_key=name.casefold()))
            )
        elif known.retired:
            known.retired = False
            repository.add(known)
        else:
            continue
        if not created:
            changes.append(f"{spec.name}: module {name} added")
    repository.flush()
    for module in new_modules:
        for row in environments:
            repository.add(ModuleRevision(module_id=_id(module), environment_id=_id(row)))


def _id(row: object) -> int:
    if row is None:
        raise NotFound("the application disappeared while it was being changed")
    identifier = getattr(row, "id", None)
    assert identifier is not None
    return int(identifier)
