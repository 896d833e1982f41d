"""The hotfix operations: open, Tag & Deploy (with approval), propagate, solve, cancel.

Each runs through `commands.runner` in one transaction. The hotfix (or, for open, the
application) row is locked first, so two concurrent operations on the same hotfix run one after
the other and the second sees the first's result: exactly one takes effect, the other gets a
refusal that says why.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from commands import runner
from commands.actors import Actor, require_approver, require_member
from commands.context import ServiceContext
from commands.deployers.port import DeployerUnavailable, DeployRefused, RunningVersion
from commands.deployers.registry import deployer_for
from commands.errors import InvalidInput, NotFound, Refused
from commands.lifecycle import (
    ChecklistEntry,
    HotfixState,
    ItemStatus,
    Operation,
    blocking_environment,
    checklist_plan,
    is_allowed,
    refusal,
)
from commands.pipeline import Pipeline
from commands.refs import Severity, format_hotfix_ref, parse_hotfix_ref
from commands.results import Outcome
from commands.runner import HotfixChange
from commands.snapshots import pipeline_of, role_members
from commands.versions import Version, check_hotfix_tag, suggest_hotfix_tag
from storage.models import (
    Application,
    ChecklistItem,
    Deployment,
    EnvironmentRow,
    Hotfix,
    HotfixModule,
    HotfixOwner,
    Module,
    ModuleRevision,
)
from storage.repository import Repository

MAX_SUMMARY = 300
MAX_REASON = 500


def open_hotfix(
    ctx: ServiceContext,
    actor: Actor,
    application: str,
    modules: Sequence[str],
    summary: str,
    *,
    severity: str = "high",
    owners: Sequence[str] = (),
    force: bool = False,
    untagged_changes_are_the_fix: bool = False,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    """`untagged_changes_are_the_fix`: the hotfix environment's `+` on Production's version is
    this fix, made before the hotfix was opened (the LifeTime watch saw it and suggested the
    hotfix). A different version is still refused unless forced."""
    summary = _required_text(summary, "a summary of the defect", MAX_SUMMARY)
    parsed_severity = Severity.parse(severity)
    if not modules:
        raise InvalidInput("name at least one module that carries the fix, e.g. Checkout")
    observed = _observe_running(ctx, application)

    def lock(repository: Repository) -> Application:
        return find_application(repository, application, for_update=True)

    def authorize(repository: Repository, app: Application) -> None:
        members = repository.members(_id(app))
        require_member(
            actor,
            role_members(members, "owner"),
            role_members(members, "approver"),
            f"open a hotfix for {app.name}",
        )

    def apply(repository: Repository, app: Application, now: datetime) -> HotfixChange:
        assert app.id is not None
        members = repository.members(app.id)
        chosen = _find_modules(repository.modules(app.id), modules, app.name)
        existing = repository.active_hotfix(app.id)
        if existing is not None and existing.id is not None:
            raise Refused(
                f"{app.name} already has an unsolved hotfix, "
                f"{format_hotfix_ref(existing.id)} ({existing.summary}): "
                "finish or cancel it before opening another",
                about="application",
            )
        environments = repository.environments()
        pipeline = pipeline_of(environments)
        rows = {row.name: row for row in environments}
        hotfix_row = rows[pipeline.hotfix_environment_name]
        production_row = rows[pipeline.production.name]
        versions = repository.versions(app.id)
        hotfix_version = versions[_id(hotfix_row)]
        production_version = versions[_id(production_row)]
        for row, version in (
            (hotfix_row, hotfix_version),
            (production_row, production_version),
        ):
            _take_observed(repository, app, version, observed.get(row.name))
        out_of_sync = _sync_problem(
            pipeline,
            hotfix_version,
            production_version,
            changes_are_the_fix=untagged_changes_are_the_fix,
        )
        if out_of_sync and not force:
            raise Refused(
                f"{out_of_sync}: synchronize first, or open with force", about="application"
            )
        hotfix = repository.add(
            Hotfix(
                application_id=app.id,
                summary=summary,
                severity=parsed_severity.value,
                state=HotfixState.OPEN.value,
                opened_by=actor.user_id,
                opened_at=now,
                base_version=production_version.tag,
                forced=bool(out_of_sync),
                hotfix_environment_had_changes=hotfix_version.has_changes,
            )
        )
        repository.flush()
        hotfix_id = _id(hotfix)
        hotfix_version.has_changes = True
        repository.add(hotfix_version)
        for module in chosen:
            repository.add(HotfixModule(hotfix_id=hotfix_id, module_id=_id(module)))
            _bump_revision(repository, _id(module), _id(hotfix_row))
        chosen_owners = _unique(owners) or role_members(members, "owner") or (actor.user_id,)
        for user in chosen_owners:
            repository.add(HotfixOwner(hotfix_id=hotfix_id, user_id=user))
        order = [rows[e.name] for e in pipeline.propagation_order()]
        for environment, module in checklist_plan(order, chosen):
            repository.add(
                ChecklistItem(
                    hotfix_id=hotfix_id,
                    environment_id=_id(environment),
                    module_id=_id(module),
                )
            )
        details: dict[str, Any] = {
            "application": app.name,
            "modules": [m.name for m in chosen],
            "summary": summary,
            "severity": parsed_severity.value,
            "base_version": production_version.tag,
        }
        if out_of_sync:
            details["forced"] = out_of_sync
        return HotfixChange(hotfix, app, "opened", details)

    outcome: Outcome = runner.run(
        ctx,
        actor,
        lock=lock,
        authorize=authorize,
        apply=apply,
        request_key=request_key,
        conflict=f"someone opened a hotfix for {application} at the same moment: "
        "see `/hotfix list`",
        origin_channel=origin_channel,
    )
    return outcome


def _observe_running(ctx: ServiceContext, application: str) -> dict[str, RunningVersion]:
    """What the deployment system says the hotfix environment and Production run.

    Asked before the transaction (it is a network call); a deployer that answers None (the
    ledger) leaves the bot's own records the truth.
    """
    with ctx.db.read() as repository:
        app = repository.application_by_name(application)
        if app is None:
            return {}
        pipeline = pipeline_of(repository.environments())
    try:
        deployer = deployer_for(app.deployer, app.deployer_settings, ctx.deployer_secrets)
        observed = {}
        for environment in (pipeline.hotfix_environment_name, pipeline.production.name):
            running = deployer.running(app.name, environment)
            if running is not None:
                observed[environment] = running
        return observed
    except (DeployRefused, DeployerUnavailable) as error:
        raise Refused(
            f"could not check what {app.name} runs through {app.deployer}: {error.message}",
            about="application",
        ) from error


def _take_observed(
    repository: Repository, app: Application, version: Any, running: RunningVersion | None
) -> None:
    if running is None or running.version is None:
        return
    Version.parse(running.version)  # unreadable: stop with its name, never skip it
    if (version.tag, version.has_changes) != (running.version, running.modified):
        version.tag = running.version
        version.has_changes = running.modified
        repository.add(version)
        repository.use_tag(_id(app), running.version)


def request_deploy(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    version: str | None = None,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    """Tag & Deploy: deploys at once, or waits for an approver when the application wants one."""
    explicit = Version.parse(version) if version else None
    return _mutate(
        ctx,
        actor,
        hotfix_ref,
        Operation.REQUEST_DEPLOY,
        request_key,
        lambda repository, hotfix, app, now: _request_deploy(
            ctx, repository, hotfix, app, actor, explicit, now
        ),
        origin_channel=origin_channel,
    )


def approve_deploy(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    def apply(repository: Repository, hotfix: Hotfix, app: Application, now: Any) -> HotfixChange:
        members = repository.members(_id(app))
        require_approver(actor, role_members(members, "approver"), hotfix.requested_by)
        assert hotfix.requested_version is not None
        version = Version.parse(hotfix.requested_version)
        _check_tag(repository, app, version)
        hotfix.approved_by = actor.user_id
        deployer = hotfix.requested_by or actor.user_id
        handed = _hand_over(ctx, repository, hotfix, app, version, deployer, now)
        details = {"version": str(version), "requested_by": deployer}
        if handed:
            details["deployer"] = app.deployer
        return HotfixChange(hotfix, app, "approved", details)

    return _mutate(
        ctx,
        actor,
        hotfix_ref,
        Operation.APPROVE,
        request_key,
        apply,
        member=False,
        origin_channel=origin_channel,
    )


def reject_deploy(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    reason: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    reason = _required_text(reason, "a reason for the rejection", MAX_REASON)

    def apply(repository: Repository, hotfix: Hotfix, app: Application, now: Any) -> HotfixChange:
        members = repository.members(_id(app))
        require_approver(actor, role_members(members, "approver"), hotfix.requested_by)
        details = {"version": hotfix.requested_version, "reason": reason}
        hotfix.state = HotfixState.OPEN.value
        hotfix.requested_version = None
        hotfix.requested_by = None
        hotfix.requested_at = None
        return HotfixChange(hotfix, app, "rejected", details)

    return _mutate(
        ctx,
        actor,
        hotfix_ref,
        Operation.REJECT,
        request_key,
        apply,
        member=False,
        origin_channel=origin_channel,
    )


def mark_merged(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    environment: str,
    module: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    return _mark(
        ctx,
        actor,
        hotfix_ref,
        environment,
        module,
        ItemStatus.MERGED,
        None,
        request_key,
        origin_channel,
    )


def mark_skipped(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    environment: str,
    module: str,
    reason: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    reason = _required_text(reason, "a reason for skipping", MAX_REASON)
    return _mark(
        ctx,
        actor,
        hotfix_ref,
        environment,
        module,
        ItemStatus.SKIPPED,
        reason,
        request_key,
        origin_channel,
    )


def solve(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    """Mark Hotfix as Solved: only when the fix reached every environment."""

    def apply(repository: Repository, hotfix: Hotfix, app: Application, now: Any) -> HotfixChange:
        items = repository.checklists([_id(hotfix)]).get(_id(hotfix), [])
        names = {row.id: row.name for row in repository.environments()}
        modules = {m.id: m.name for m in repository.modules(_id(app))}
        pending = [item for item in items if item.status == ItemStatus.PENDING.value]
        if pending:
            left = "; ".join(
                f"{names[item.environment_id]}: {modules[item.module_id]}" for item in pending
            )
            raise Refused(
                f"{format_hotfix_ref(_id(hotfix))} has not reached every environment yet. "
                f"Still to merge or skip: {left}"
            )
        hotfix.state = HotfixState.SOLVED.value
        hotfix.closed_by = actor.user_id
        hotfix.closed_at = now
        details = {"deployed_version": hotfix.deployed_version}
        return HotfixChange(hotfix, app, "solved", details)

    return _mutate(
        ctx, actor, hotfix_ref, Operation.SOLVE, request_key, apply, origin_channel=origin_channel
    )


def cancel(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    reason: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    reason = _required_text(reason, "a reason for cancelling", MAX_REASON)

    def apply(repository: Repository, hotfix: Hotfix, app: Application, now: Any) -> HotfixChange:
        environments = repository.environments()
        hotfix_row = next(row for row in environments if row.is_hotfix_environment)
        version = repository.versions(_id(app))[_id(hotfix_row)]
        version.has_changes = hotfix.hotfix_environment_had_changes
        repository.add(version)
        hotfix.state = HotfixState.CANCELLED.value
        hotfix.closed_by = actor.user_id
        hotfix.closed_at = now
        hotfix.close_reason = reason
        return HotfixChange(hotfix, app, "cancelled", {"reason": reason})

    return _mutate(
        ctx, actor, hotfix_ref, Operation.CANCEL, request_key, apply, origin_channel=origin_channel
    )


# helpers --------------------------------------------------------------------------------------

Apply = Callable[[Repository, Hotfix, Application, Any], HotfixChange]


def _mutate(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    operation: Operation,
    request_key: str | None,
    apply: Apply,
    *,
    member: bool = True,
    origin_channel: str | None = None,
) -> Outcome:
    """A hotfix operation through the runner: the hotfix row is the lock, its state and its
    members say whether the actor may."""
    hotfix_id = parse_hotfix_ref(hotfix_ref)
    ref = format_hotfix_ref(hotfix_id)

    def authorize(repository: Repository, hotfix: Hotfix) -> None:
        state = HotfixState(hotfix.state)
        if not is_allowed(operation, state):
            tag = hotfix.deployed_version or hotfix.requested_version
            raise Refused(refusal(operation, state, ref, tag))
        if member:
            require_hotfix_member(repository, actor, hotfix, f"change {ref}")

    outcome: Outcome = runner.run(
        ctx,
        actor,
        lock=lambda repository: lock_hotfix(repository, hotfix_id),
        authorize=authorize,
        apply=lambda repository, hotfix, now: apply(
            repository, hotfix, repository.application(hotfix.application_id), now
        ),
        request_key=request_key,
        conflict=f"{ref} was changed by someone else at the same moment: look at it again "
        "and retry",
        origin_channel=origin_channel,
    )
    return outcome


def lock_hotfix(repository: Repository, hotfix_id: int) -> Hotfix:
    # The lock also loads what the operation and its snapshot read next (one statement).
    hotfix = repository.lock_hotfix(hotfix_id)
    if hotfix is None:
        raise NotFound(
            f"there is no hotfix {format_hotfix_ref(hotfix_id)}: `/hotfix list` shows the red ones"
        )
    return hotfix


def require_hotfix_member(repository: Repository, actor: Actor, hotfix: Hotfix, what: str) -> None:
    """Owners of the hotfix or its application, approvers and admins may change it."""
    # One read gives the hotfix's owners and the application's members (and what the
    # snapshot needs of them later in this transaction).
    owners = set(repository.hotfix_details([_id(hotfix)]).owners.get(_id(hotfix), []))
    members = repository.members(hotfix.application_id)
    owners.update(role_members(members, "owner"))
    require_member(actor, owners, role_members(members, "approver"), what)


def _request_deploy(
    ctx: ServiceContext,
    repository: Repository,
    hotfix: Hotfix,
    app: Application,
    actor: Actor,
    explicit: Version | None,
    now: Any,
) -> HotfixChange:
    production = _production_version(repository, app)
    used = [Version.parse(t) for t in repository.used_tags(_id(app))]
    if explicit is None:
        version = suggest_hotfix_tag(production, used)
    else:
        check_hotfix_tag(explicit, production, used)
        version = explicit
    if app.require_approval:
        hotfix.state = HotfixState.AWAITING_APPROVAL.value
        hotfix.requested_version = str(version)
        hotfix.requested_by = actor.user_id
        hotfix.requested_at = now
        return HotfixChange(hotfix, app, "deploy_requested", {"version": str(version)})
    hotfix.requested_by = actor.user_id
    hotfix.requested_version = str(version)
    hotfix.requested_at = now
    if _hand_over(ctx, repository, hotfix, app, version, actor.user_id, now):
        details = {"version": str(version), "deployer": app.deployer}
        return HotfixChange(hotfix, app, "deploy_started", details)
    return HotfixChange(hotfix, app, "deployed", {"version": str(version)})


def _hand_over(
    ctx: ServiceContext,
    repository: Repository,
    hotfix: Hotfix,
    app: Application,
    version: Version,
    requested_by: str,
    now: Any,
) -> bool:
    """Deploy now (a deployer that declares itself immediate, like the ledger), or hand the
    deploy to the application's deployment system.

    Returns True when a deployment system took it: the hotfix is then `deploying` until the
    deployment follower sees it finish.
    """
    try:
        deployer = deployer_for(app.deployer, app.deployer_settings, ctx.deployer_secrets)
    except DeployRefused as error:
        raise Refused(f"{app.name} cannot be deployed now: {error.message}") from error
    if deployer.immediate:
        record_deploy(repository, hotfix, app, version, requested_by, now)
        return False
    hotfix.state = HotfixState.DEPLOYING.value
    hotfix.requested_version = str(version)
    repository.add(
        Deployment(
            hotfix_id=_id(hotfix),
            deployer=app.deployer,
            version=str(version),
            requested_by=requested_by,
            created_at=now,
            last_progress_at=now,
            next_poll_at=now,
        )
    )
    return True


def record_deploy(
    repository: Repository,
    hotfix: Hotfix,
    app: Application,
    version: Version,
    deployer: str,
    now: Any,
) -> None:
    """Tag the hotfix environment and deploy it to Production (and anything in between)."""
    environments = repository.environments()
    pipeline = pipeline_of(environments)
    hotfix_position = pipeline.hotfix_environment.position
    versions = repository.versions(_id(app))
    for row in environments:
        if row.position >= hotfix_position:
            app_version = versions[_id(row)]
            app_version.tag = str(version)
            app_version.has_changes = False
            repository.add(app_version)
    hotfix_row = next(row for row in environments if row.position == hotfix_position)
    modules = repository.hotfix_modules([_id(hotfix)]).get(_id(hotfix), [])
    for module in modules:
        source = repository.module_revision(_id(module), _id(hotfix_row))
        for row in environments:
            if row.position > hotfix_position:
                target = repository.module_revision(_id(module), _id(row))
                if target is None:
                    target = ModuleRevision(module_id=_id(module), environment_id=_id(row))
                target.revision = source.revision if source else target.revision
                repository.add(target)
    repository.use_tag(_id(app), str(version))
    hotfix.state = HotfixState.PROPAGATING.value
    hotfix.deployed_version = str(version)
    hotfix.deployed_by = deployer
    hotfix.deployed_at = now


def _mark(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    environment: str,
    module: str,
    status: ItemStatus,
    reason: str | None,
    request_key: str | None,
    origin_channel: str | None,
) -> Outcome:
    def apply(repository: Repository, hotfix: Hotfix, app: Application, now: Any) -> HotfixChange:
        ref = format_hotfix_ref(_id(hotfix))
        environments = repository.environments()
        pipeline = pipeline_of(environments)
        target = pipeline.find(environment)
        order = [e.name for e in pipeline.propagation_order()]
        if target.name not in order:
            raise InvalidInput(
                f"{target.name} is not an environment {ref} propagates to: "
                f"the fix goes backward to {', '.join(order) or 'no environment'}"
            )
        # The hotfix's modules as its permission check read them (no second read).
        modules = repository.hotfix_details([_id(hotfix)]).modules.get(_id(hotfix), [])
        chosen_id, chosen_name = _find_hotfix_module(modules, module, f"{ref} (its modules)")
        rows = {row.name: row for row in environments}
        names = {row.id: row.name for row in environments}
        module_names = dict(modules)
        items = repository.checklists([_id(hotfix)]).get(_id(hotfix), [])
        item = next(
            i
            for i in items
            if i.environment_id == rows[target.name].id and i.module_id == chosen_id
        )
        if item.status != ItemStatus.PENDING.value:
            raise Refused(
                f"{chosen_name} in {target.name} was already {item.status} for {ref}: nothing to do"
            )
        entries = [
            ChecklistEntry(names[i.environment_id], module_names[i.module_id], ItemStatus(i.status))
            for i in items
        ]
        blocking = blocking_environment(entries, order, target.name)
        if blocking is not None:
            left = ", ".join(
                e.module
                for e in entries
                if e.environment == blocking and e.status is ItemStatus.PENDING
            )
            raise Refused(
                f"{blocking} comes first: the fix propagates backward, closest to Production "
                f"first. Still pending in {blocking}: {left}"
            )
        item.status = status.value
        item.reason = reason
        item.done_by = actor.user_id
        item.done_at = now
        repository.add(item)
        if status is ItemStatus.MERGED:
            # The versions the lock loaded (the snapshot shows them too).
            versions, _ = repository.versions_with_lifetime_of([_id(app)])
            app_version = versions[_id(app)][_id(rows[target.name])]
            if not app_version.has_changes:
                app_version.has_changes = True
                repository.add(app_version)
            _bump_revision(repository, chosen_id, _id(rows[target.name]))
        details: dict[str, Any] = {"environment": target.name, "module": chosen_name}
        if reason:
            details["reason"] = reason
        kind = "merged" if status is ItemStatus.MERGED else "skipped"
        return HotfixChange(hotfix, app, kind, details)

    return _mutate(
        ctx, actor, hotfix_ref, Operation.MARK, request_key, apply, origin_channel=origin_channel
    )


def find_application(repository: Repository, name: str, *, for_update: bool = False) -> Application:
    app = repository.application_by_name(name, for_update=for_update)
    if app is not None:
        return app
    names = repository.application_names()
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    known = ", ".join(names[:20]) or "none yet"
    raise NotFound(f"there is no application '{name}'.{hint} Known: {known}", about="application")


def _find_modules(available: Sequence[Module], wanted: Sequence[str], owner: str) -> list[Module]:
    by_key = {m.name_key: m for m in available}
    chosen: list[Module] = []
    for name in wanted:
        module = by_key.get(name.strip().casefold())
        if module is None:
            names = [m.name for m in available]
            close = difflib.get_close_matches(name.strip(), names, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InvalidInput(
                f"{owner} has no module '{name.strip()}'.{hint} Modules: {', '.join(names)}"
            )
        if module not in chosen:
            chosen.append(module)
    return chosen


def _find_hotfix_module(
    available: Sequence[tuple[int, str]], wanted: str, owner: str
) -> tuple[int, str]:
    """(id, name) of the hotfix's module named `wanted` (names compare as `Module.name_key`)."""
    key = wanted.strip().casefold()
    for module_id, name in available:
        if name.casefold() == key:
            return module_id, name
    names = [name for _, name in available]
    close = difflib.get_close_matches(wanted.strip(), names, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise InvalidInput(
        f"{owner} has no module '{wanted.strip()}'.{hint} Modules: {', '.join(names)}"
    )


def _sync_problem(
    pipeline: Pipeline,
    hotfix_version: Any,
    production_version: Any,
    *,
    changes_are_the_fix: bool = False,
) -> str | None:
    hotfix_name = pipeline.hotfix_environment_name
    if Version.parse(hotfix_version.tag) != Version.parse(production_version.tag):
        return (
            f"{hotfix_name} runs {hotfix_version.tag} but Production runs {production_version.tag}"
        )
    if hotfix_version.has_changes and not changes_are_the_fix:
        return f"{hotfix_name} carries untagged changes ({hotfix_version.tag}+)"
    return None


def _production_version(repository: Repository, app: Application) -> Version:
    environments = repository.environments()
    production: EnvironmentRow = environments[-1]
    return Version.parse(repository.versions(_id(app))[_id(production)].tag)


def _check_tag(repository: Repository, app: Application, version: Version) -> None:
    used = [Version.parse(t) for t in repository.used_tags(_id(app))]
    check_hotfix_tag(version, _production_version(repository, app), used)


def _bump_revision(repository: Repository, module_id: int, environment_id: int) -> None:
    repository.bump_module_revision(module_id, environment_id)


def _required_text(text: str | None, what: str, limit: int) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise InvalidInput(f"give {what}")
    if len(cleaned) > limit:
        raise InvalidInput(f"{what[0].upper()}{what[1:]} is too long: {limit} characters at most")
    return cleaned


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def _id(row: Any) -> int:
    identifier = row.id
    assert identifier is not None
    return int(identifier)
