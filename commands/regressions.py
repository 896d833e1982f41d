"""The regression watch: a release about to undo a hotfix.

While a hotfix propagates, the environments that lack the fix are known. A deployment plan that
takes an application from one of them to Production would deploy a version without the fix:
the classic way a hotfix gets reverted by the next release. Only deployers that can list plans
(LifeTime) are watched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from commands import outbox
from commands.context import ServiceContext
from commands.deployers.port import DeployerUnavailable, DeployRefused
from commands.deployers.registry import deployer_for
from commands.lifecycle import HotfixState
from commands.outbox import Work
from commands.results import HotfixSnapshot
from commands.snapshots import hotfix_snapshots


@dataclass(frozen=True)
class RegressionWarning:
    hotfix: HotfixSnapshot
    plan_key: str
    source_environment: str
    pending_modules: tuple[str, ...]
    work: Work | None = None  # the thread lines and DMs, claimed for this process to send


def watch(ctx: ServiceContext) -> list[RegressionWarning]:
    with ctx.db.read() as repository:
        red = [h for h in repository.active_hotfixes() if h.state == HotfixState.PROPAGATING]
        apps = repository.applications_by_ids(h.application_id for h in red)
        snapshots = hotfix_snapshots(repository, red)
        ours = {
            h_id: row.external_key
            for h_id, row in repository.latest_deployments(s.id for s in snapshots).items()
        }
        settings = {s.id: apps[h.application_id] for s, h in zip(snapshots, red, strict=True)}
    warnings = []
    for hotfix in snapshots:
        app = settings[hotfix.id]
        try:
            deployer = deployer_for(app.deployer, app.deployer_settings, ctx.deployer_secrets)
            # Only deployers that can list deployment plans declare plans_to (LifeTime).
            plans_to = getattr(deployer, "plans_to", None)
            if plans_to is None or hotfix.deployed_at is None:
                continue
            production = next(line.name for line in hotfix.pipeline if line.is_production)
            plans = plans_to(app.name, production, hotfix.deployed_at)
        except (DeployRefused, DeployerUnavailable):
            continue  # looked at again on the next pass
        for plan, source in plans:
            if plan.key == ours.get(hotfix.id) or source not in hotfix.propagation_order:
                continue
            pending = hotfix.pending_modules(source)
            if pending:
                warning = RegressionWarning(hotfix, plan.key, source, pending)
                told = _tell_once(ctx, warning)
                if told is not None:
                    warnings.append(told)
    return warnings


def _tell_once(ctx: ServiceContext, warning: RegressionWarning) -> RegressionWarning | None:
    """The warning goes to the outbox (thread and owners) once per plan, else None."""
    key = f"regression:{warning.hotfix.id}:{warning.plan_key}"
    now = ctx.now()
    with ctx.db.write() as repository:
        if repository.request_seen(key):
            return None
        repository.remember_request(key, now)
        hotfix = repository.hotfix(warning.hotfix.id, for_update=True)
        assert hotfix is not None
        app = repository.application(hotfix.application_id)
        snapshot = hotfix_snapshots(repository, [hotfix])[0]
        payload = {
            "plan_key": warning.plan_key,
            "source_environment": warning.source_environment,
            "pending_modules": list(warning.pending_modules),
        }
        work = outbox.record(
            ctx,
            repository,
            hotfix,
            app,
            snapshot,
            now,
            lines=[(outbox.WARNING, payload)],
            direct=[(owner, payload) for owner in warning.hotfix.owners],
        )
        return replace(warning, hotfix=snapshot, work=work)
