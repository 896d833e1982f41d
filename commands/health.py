"""Whether the service can do its job: the database answers."""

from __future__ import annotations

from commands.context import ServiceContext


def database_answers(ctx: ServiceContext) -> bool:
    return ctx.db.ping()
