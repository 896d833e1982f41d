"""Whether the service can do its job, and the figures operators watch, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from commands.context import ServiceContext
from commands.refs import Severity
from storage import migrate


def database_answers(ctx: ServiceContext) -> bool:
    return ctx.db.ping()


def schema_is_current(ctx: ServiceContext) -> bool:
    """The database's migration is the code's head (a replica started before `db upgrade`)."""
    return migrate.is_up_to_date(ctx.db.engine)


@dataclass(frozen=True)
class RedSeverity:
    severity: str
    count: int
    oldest_age_seconds: float


def red_hotfixes_by_severity(ctx: ServiceContext) -> list[RedSeverity]:
    """Every severity, zero where none is red, so a gauge drops to 0 instead of vanishing."""
    now = ctx.now()
    with ctx.db.read() as repository:
        rows = {
            severity: (count, oldest)
            for severity, count, oldest in repository.red_hotfixes_by_severity()
        }
    figures = []
    for severity in [s.value for s in Severity] + sorted(set(rows) - {s.value for s in Severity}):
        count, oldest = rows.get(severity, (0, None))
        age = 0.0
        if oldest is not None:
            opened = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = max(0.0, (now - opened).total_seconds())
        figures.append(RedSeverity(severity, count, age))
    return figures


@dataclass(frozen=True)
class OutboxBacklog:
    living_messages: int  # behind the revision they should show
    lines: int  # thread lines and direct messages not delivered yet
    oldest_line_age_seconds: float  # 0 when none waits


def outbox_backlog(ctx: ServiceContext) -> OutboxBacklog:
    """What the outbox still owes Slack; it grows while Slack is down or no process sweeps."""
    with ctx.db.read() as repository:
        living, lines, oldest = repository.outbox_backlog()
    age = 0.0
    if oldest is not None:
        written = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max(0.0, (ctx.now() - written).total_seconds())
    return OutboxBacklog(living, lines, age)
