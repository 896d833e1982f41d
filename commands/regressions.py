"""The regression watch: a release about to undo a hotfix.

While a hotfix propagates, the environments that lack the fix are known. A deployment plan that
takes an application from one of them to Production would deploy a version without the fix:
the classic way a hotfix gets reverted by the next release. Only deployers that can list plans
(LifeTime) are watched.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.context import ServiceContext
from commands.deployers.port import DeployerUnavailable, DeployRefused
from commands.deployers.registry import deployer_for
from commands.lifecycle import HotfixState
from commands.results import HotfixSnapshot
from commands.snapshots import hotfix_snapshots


@dataclass(frozen=True)
class RegressionWarning:
    hotfix: HotfixSnapshot
    plan_key: str
    source_environment: str
    pending_modules: tuple[str, ...]


def watch(ctx: ServiceContext) -> list[RegressionWarning]:
    with ctx.db.read() as repository:
        red = [h for h in repository.active_hotfixes() if h.state == HotfixState.PROPAGATING]
        apps = repository.applications_by_ids(h.application_id for h in red)
        watched = [h for h in red if apps[h.application_id].deployer == "lifetime"]
        snapshots = hotfix_snapshots(repository, watched)
        ours = {
            h_id: row.external_key
            for h_id, row in repository.latest_deployments(s.id for s in snapshots).items()
        }
        settings = {s.id: apps[h.application_id] for s, h in zip(snapshots, watched, strict=True)}
    warnings = []
    for hotfix in snapshots:
        app = settings[hotfix.id]
        try:
            deployer = deployer_for(app.deployer, app.deployer_settings, ctx.deployer_secrets)
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
            if pending and _first_time(ctx, f"regression:{hotfix.id}:{plan.key}"):
                warnings.append(RegressionWarning(hotfix, plan.key, source, pending))
    return warnings


def _first_time(ctx: ServiceContext, key: str) -> bool:
    with ctx.db.write() as repository:
        if repository.request_seen(key):
            return False
        repository.remember_request(key, ctx.now())
        return True
