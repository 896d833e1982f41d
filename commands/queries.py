"""Read-only operations: status, the red list, history, applications."""

from __future__ import annotations

import json

from commands.context import ServiceContext
from commands.errors import NotFound
from commands.hotfixes import find_application
from commands.refs import format_hotfix_ref, parse_hotfix_ref
from commands.results import ApplicationSnapshot, EventLine, HotfixSnapshot
from commands.snapshots import application_snapshots, hotfix_snapshots


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
        snapshot = application_snapshots(repository, [app])[0]
        hotfix = repository.active_hotfix(app.id) or repository.latest_hotfix(app.id)
        hotfix_snapshot = hotfix_snapshots(repository, [hotfix])[0] if hotfix else None
        return snapshot, hotfix_snapshot


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
