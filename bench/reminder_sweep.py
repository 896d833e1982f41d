"""Workload 3: many due reminders. How long claiming them takes, and statements per reminder.

Seeds `count` applications, each with one red hotfix whose reminder is overdue, in bulk; then
claims them the way the sweep does (`commands.reminders.claim_due`, 500 per pass) until none is
left, counting SQL statements. Sending is paced by Slack's rate limits and measured apart, on a
sample, through the real sweep and the local Web API stand-in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert

from commands import applications, reminders
from commands.context import ServiceContext
from standin.stack import LocalSlackStack
from storage.models import Application, AppVersion, Hotfix, HotfixOwner, Member, Reminder
from storage.setup import open_database

BATCH = 500  # what one sweep claims


@dataclass(frozen=True)
class ReminderFigures:
    count: int
    claim_seconds: float
    statements: int
    passes: int
    send_sample: int
    send_seconds: float  # for the sample: each round recorded, then sent by the outbox fast path

    @property
    def statements_per_reminder(self) -> float:
        return self.statements / max(self.count, 1)


def measure_reminder_claims(url: str, count: int, send_sample: int = 50) -> ReminderFigures:
    database = open_database(url, upgrade=True)
    try:
        ctx = ServiceContext(database)
        applications.ensure_pipeline(ctx)
        _seed(ctx, count)
        statements: list[str] = []

        def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(database.engine, "before_cursor_execute", counted)
        started = time.perf_counter()
        claimed, passes = 0, 0
        while True:
            due = reminders.claim_due(ctx, "bench-sweep", limit=BATCH)
            if not due:
                break
            claimed += len(due)
            passes += 1
        seconds = time.perf_counter() - started
        event.remove(database.engine, "before_cursor_execute", counted)
        send_seconds = _send_sample(ctx, send_sample)
        return ReminderFigures(claimed, seconds, len(statements), passes, send_sample, send_seconds)
    finally:
        database.engine.dispose()


def _seed(ctx: ServiceContext, count: int) -> None:
    """`count` applications, each with one open hotfix whose reminder is an hour overdue."""
    now = datetime.now(UTC)
    opened = now - timedelta(hours=2)
    with ctx.db.write() as repository:
        session = repository.session
        environments = repository.environments()
        first_app = 1_000_000
        session.execute(
            insert(Application),
            [
                {
                    "id": first_app + i,
                    "name": f"Swept{i}",
                    "name_key": f"swept{i}",
                    "require_approval": True,
                    "created_at": opened,
                    "deployer": "ledger",
                    "deployer_settings": "{}",
                }
                for i in range(count)
            ],
        )
        session.execute(
            insert(AppVersion),
            [
                {
                    "application_id": first_app + i,
                    "environment_id": env.id,
                    "tag": "1.0.0",
                    "has_changes": env.is_hotfix_environment,
                }
                for i in range(count)
                for env in environments
            ],
        )
        session.execute(
            insert(Member),
            [
                {"application_id": first_app + i, "user_id": f"U{i:08d}", "role": "owner"}
                for i in range(count)
            ],
        )
        session.execute(
            insert(Hotfix),
            [
                {
                    "id": first_app + i,
                    "application_id": first_app + i,
                    "summary": "bench",
                    "severity": "high",
                    "state": "open",
                    "opened_by": f"U{i:08d}",
                    "opened_at": opened,
                    "base_version": "1.0.0",
                    "forced": False,
                    "hotfix_environment_had_changes": False,
                    "revision": 1,
                }
                for i in range(count)
            ],
        )
        session.execute(
            insert(HotfixOwner),
            [{"hotfix_id": first_app + i, "user_id": f"U{i:08d}"} for i in range(count)],
        )
        session.execute(
            insert(Reminder),
            [
                {
                    "hotfix_id": first_app + i,
                    "enabled": True,
                    "next_due_at": now - timedelta(hours=1),
                    "unanswered": 0,
                    "failures": 0,
                }
                for i in range(count)
            ],
        )


def _send_sample(ctx: ServiceContext, sample: int) -> float:
    """Sweep `sample` due reminders through the real sweep, the outbox and the local Web API."""
    with ctx.db.write() as repository:
        rows = repository.session.query(Reminder).limit(sample).all()
        for row in rows:
            row.next_due_at = ctx.now() - timedelta(minutes=1)
            row.claimed_until = None
            row.pending_recipients = None
    with LocalSlackStack(ctx) as stack:
        assert stack.services is not None
        started = time.perf_counter()
        report = stack.services.sweeper.sweep()
        seconds = time.perf_counter() - started
    if len(report.nudged) != sample:
        raise RuntimeError(f"the sample sweep nudged {len(report.nudged)} of {sample}")
    return seconds
