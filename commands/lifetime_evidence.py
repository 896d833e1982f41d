"""Evidence of propagation: new module versions LifeTime shows in checklist environments.

While a hotfix propagates, a module that gets a new version in an environment of its checklist
after the Production deploy is evidence on that item, and its owners are told once. Evidence
never marks an item: a person still confirms *Merged*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands import outbox
from commands.context import ServiceContext
from commands.deployers.lifetime_api import AppStatus, LifeTimeClient
from commands.outbox import Work
from commands.refs import format_hotfix_ref
from commands.snapshots import hotfix_snapshots
from storage.repository import Repository

EVIDENCE = "evidence"  # what an outbox line's payload is about (`about`)


@dataclass(frozen=True)
class Evidence:
    """A new version of a hotfix module in a checklist environment, seen after the deploy."""

    hotfix_ref: str
    application: str
    environment: str
    module: str
    at: datetime
    owners: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        """The outbox line's content: domain data, rendered by the bot when it delivers."""
        return {
            "about": EVIDENCE,
            "hotfix_ref": self.hotfix_ref,
            "application": self.application,
            "environment": self.environment,
            "module": self.module,
            "at": self.at.isoformat(),
        }


def evidence_of(payload: dict[str, Any]) -> Evidence:
    return Evidence(
        hotfix_ref=str(payload["hotfix_ref"]),
        application=str(payload["application"]),
        environment=str(payload["environment"]),
        module=str(payload["module"]),
        at=datetime.fromisoformat(str(payload["at"])),
        owners=(),
    )


@dataclass(frozen=True)
class Found:
    """Evidence this round and the outbox work that tells it (claimed for the fast path)."""

    evidence: list[Evidence]
    work: Work | None = None


def evidence_in(
    ctx: ServiceContext,
    repository: Repository,
    client: LifeTimeClient,
    application_id: int,
    application: str,
    published: dict[int, tuple[AppStatus, set[str]]],
) -> Found:
    """New module versions in checklist environments after the Production deploy, put on the
    hotfix's checklist items as evidence. Nothing is marked: a person still says Merged.

    The owners' direct messages and the living message's new revision go to the outbox in the
    transaction that stores the observation, so they are delivered at least once (a failed
    send is retried by the sweep) and never lost between the observation and the send.
    """
    hotfix = repository.active_hotfix(application_id)
    if hotfix is None or hotfix.id is None or hotfix.state != "propagating":
        return Found([])
    if hotfix.deployed_at is None or ctx.now() < hotfix.deployed_at:
        return Found([])
    items = repository.checklists([hotfix.id]).get(hotfix.id, [])
    modules = {m.id: m.name for m in repository.modules(application_id, with_retired=True)}
    names = {row.id: row.name for row in repository.environments()}
    owners = tuple(repository.hotfix_owners([hotfix.id]).get(hotfix.id, []))
    found: list[Evidence] = []
    for environment_id, (status, before) in published.items():
        waiting = [i for i in items if i.environment_id == environment_id and i.evidence_at is None]
        if not waiting:
            continue
        changed = {name.casefold() for name in _newly_published(client, status, before)}
        for item in waiting:
            module = modules.get(item.module_id, "")
            if module.casefold() not in changed:
                continue
            item.evidence_at = ctx.now()
            # Told once: the owners' DMs are recorded in the outbox with this observation.
            told_before, item.evidence_told = item.evidence_told, True
            if not told_before:
                found.append(
                    Evidence(
                        hotfix_ref=format_hotfix_ref(hotfix.id),
                        application=application,
                        environment=names.get(environment_id, "?"),
                        module=module,
                        at=ctx.now(),
                        owners=owners,
                    )
                )
    if not found:
        return Found([])
    hotfix.revision += 1  # the living message shows the evidence on its items
    repository.add(hotfix)
    repository.flush()
    app = repository.application(application_id)
    snapshot = hotfix_snapshots(repository, [hotfix])[0]
    work = outbox.record(
        ctx,
        repository,
        hotfix,
        app,
        snapshot,
        ctx.now(),
        direct=[(owner, evidence.payload()) for evidence in found for owner in owners],
    )
    return Found(found, work)


def _newly_published(client: LifeTimeClient, status: AppStatus, before: set[str]) -> list[str]:
    """Which modules got the new versions LifeTime now reports.

    ModuleStatusInEnvs names module versions, not modules, so the environment's tagged version
    (its ModuleVersions pair each ModuleKey with a version Key) says which modules now run
    something else than the tag; those that still ran the tag last round are the new ones. A
    module republished again cannot be told apart, unless it is the only one changed.
    """
    if status.version_key is None:
        return []
    tagged = client.version_modules(status.application_key, status.version_key)
    running = set(status.module_version_keys)
    changed = [module for module, version in tagged.items() if version not in running]
    fresh = [module for module in changed if tagged[module] in before]
    if not fresh and len(changed) == 1:
        fresh = changed
    return [client.module_name(module) for module in fresh]
