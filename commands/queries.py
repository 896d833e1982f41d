"""Read-only operations: status, the red list, history, applications."""

from __future__ import annotations

import json

from commands.context import ServiceContext
from commands.errors import NotFound
from commands.hotfixes import find_application
from commands.lifecycle import HotfixState
from commands.refs import format_hotfix_ref, parse_hotfix_ref
from commands.results import ApplicationSnapshot, EventLine, HotfixSnapshot
from commands.snapshots import ApplicationFacts, application_snapshots, hotfix_snapshots


def hotfix_status(ctx: ServiceContext, hotfix_ref: str) -> HotfixSnapshot:
    hotfix_id = parse_hotfix_ref(hotfix_ref)
    with ctx.db.read() as repository:
        hotfix = repository.hotfix(hotfix_id)
        if hotfix is None:
            raise NotFound(
                f"there is no hotfix {format_hotfix_ref(hotfix_id)}: "
                "`/hotfix list` shows the red ones"
            )
        return hotfix_snapshots(repository, [hotfix])[0]


def application_status(
    ctx: ServiceContext, application: str
) -> tuple[ApplicationSnapshot, HotfixSnapshot | None]:
    """An application's pipeline, and its unsolved hotfix (or else its latest one)."""
    with ctx.db.read() as repository:
        app = find_application(repository, application)
        assert app.id is not None
        facts = ApplicationFacts.load(repository, [app])
        hotfix = repository.current_hotfix(app.id)
        active = {app.id: hotfix} if hotfix and HotfixState(hotfix.state).is_red else {}
        snapshot = application_snapshots(repository, [app], facts, active)[0]
        hotfix_snapshot = hotfix_snapshots(repository, [hotfix], facts)[0] if hotfix else None
        return snapshot, hotfix_snapshot


def red_overview(ctx: ServiceContext, limit: int = 40) -> tuple[list[HotfixSnapshot], list[str]]:
    """The oldest `limit` red hotfixes in full, and the refs of the others (for "…and N more").

    Lists in Slack show a few dozen at most; building snapshots of every red hotfix in a large
    catalog would cost time and memory for nothing.
    """
    with ctx.db.read() as repository:
        refs = repository.active_hotfix_refs()
        shown = repository.hotfix_rows(hotfix_id for hotfix_id, _ in refs[:limit])
        shown.sort(key=lambda hotfix: (hotfix.opened_at, hotfix.id or 0))
        more = [format_hotfix_ref(hotfix_id) for hotfix_id, _ in refs[limit:]]
        return hotfix_snapshots(repository, shown), more


def application_overview(
    ctx: ServiceContext, limit: int = 40
) -> tuple[list[ApplicationSnapshot], list[str]]:
    """Applications with a red hotfix first, then by name: `limit` in full, the others' names."""
    with ctx.db.read() as repository:
        keys = repository.application_keys()
        red = {app_id for _, app_id in repository.active_hotfix_refs()}
        ordered = sorted(keys, key=lambda key: key[0] not in red)
        shown = repository.applications_by_ids(app_id for app_id, _ in ordered[:limit])
        snapshots = application_snapshots(
            repository, [shown[app_id] for app_id, _ in ordered[:limit]]
        )
        return snapshots, [name for _, name in ordered[limit:]]


def red_hotfixes(ctx: ServiceContext) -> list[HotfixSnapshot]:
    """Every unsolved hotfix, the oldest first."""
    with ctx.db.read() as repository:
        return hotfix_snapshots(repository, repository.active_hotfixes())


def history(ctx: ServiceContext, hotfix_ref: str) -> tuple[HotfixSnapshot, list[EventLine]]:
    snapshot = hotfix_status(ctx, hotfix_ref)
    with ctx.db.read() as repository:
        events = repository.events(snapshot.id)
    return snapshot, [
        EventLine(at=e.at, actor=e.actor, kind=e.kind, details=json.loads(e.details))
        for e in events
    ]


def applications(ctx: ServiceContext) -> list[ApplicationSnapshot]:
    with ctx.db.read() as repository:
        return application_snapshots(repository, repository.applications())
