"""Reads cost a fixed number of SQL statements, whatever the size of the catalog (no N+1).

Counts, not timings: the figures for speed live in the benchmark (`python -m bench`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import AlreadyApplied
from tests.conftest import ADMIN
from tests.support import MovableClock


@contextmanager
def counting(ctx: ServiceContext) -> Iterator[list[str]]:
    """The SQL statements sent to the database. Transaction control is left out: SQLite's
    engine sends its BEGIN IMMEDIATE as a statement while psycopg begins implicitly, and
    neither COMMIT is seen here; transactions are counted apart (`transactions`)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)


@contextmanager
def transactions(ctx: ServiceContext) -> Iterator[list[object]]:
    begun: list[object] = []

    def begin(connection: object) -> None:
        begun.append(connection)

    event.listen(ctx.db.engine, "begin", begin)
    try:
        yield begun
    finally:
        event.remove(ctx.db.engine, "begin", begin)


def listing(statements: list[str]) -> str:
    """Numbered, one line each: a failing count says which statements came."""
    return "\n".join(f"{n:2}. {' '.join(s.split())[:200]}" for n, s in enumerate(statements, 1))


def statements_of(ctx: ServiceContext, read: Callable[[], object]) -> int:
    read()  # warm caches (the pipeline is read once per process)
    with counting(ctx) as statements:
        read()
    return len(statements)


def grow(ctx: ServiceContext, count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        name = f"Grown{index}"
        applications.add_application(ctx, ADMIN, name, ["Core", "Edge"], "1.0.0")
        applications.set_members(ctx, ADMIN, name, "owner", ["U0ANA"])
        ref = hotfixes.open_hotfix(ctx, Actor("U0ANA"), name, ["Core"], "down").hotfix.ref
        if index % 2:
            hotfixes.request_deploy(ctx, ADMIN, ref)


def test_reads_do_not_grow_with_the_catalog(ctx: ServiceContext) -> None:
    ref = hotfixes.open_hotfix(ctx, Actor("U0ANA"), "eCommerce", ["Checkout"], "x").hotfix.ref
    reads: dict[str, Callable[[], object]] = {
        "status of an application": lambda: queries.application_status(ctx, "eCommerce"),
        "status of a hotfix": lambda: queries.hotfix_status(ctx, ref),
        "list": lambda: queries.red_overview(ctx),
        "apps": lambda: queries.application_overview(ctx),
    }
    grow(ctx, 3)
    small = {name: statements_of(ctx, read) for name, read in reads.items()}
    grow(ctx, 45, start=3)
    large = {name: statements_of(ctx, read) for name, read in reads.items()}
    assert small == large
    assert large["status of an application"] <= 10
    red, more = queries.red_overview(ctx)
    assert len(red) == 40 and len(more) == 9
    apps, names = queries.application_overview(ctx)
    assert len(apps) == 40 and len(names) == 10
    assert all(app.active_hotfix for app in apps), "red applications come first"


def test_a_merged_click_costs_two_transactions_in_its_request_path(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    """The change with its outbox rows, then the delivery's record: no second read of the
    hotfix, no write per channel (issue 10: at most 2 transactions and 14 statements).

    The click is a real one: it carries Slack's request key (idempotency) and comes a while
    after the last change, so its reminder is rescheduled."""
    from slack_sdk import WebClient

    from bot.delivery import Deliverer
    from standin.web_api import FakeSlackWebApi

    ctx.worker = "cost"
    ana, lee = Actor("U0ANA"), Actor("U0LEE")
    with FakeSlackWebApi() as slack:
        deliverer = Deliverer(ctx, WebClient(token="xoxb-cost", base_url=slack.base_url), "cost")
        steps = [
            lambda: hotfixes.open_hotfix(
                ctx, ana, "eCommerce", ["Checkout", "Payments"], "x", origin_channel="C0INC"
            ),
            lambda: hotfixes.request_deploy(ctx, ana, "HF-1"),
            lambda: hotfixes.approve_deploy(ctx, lee, "HF-1"),
            lambda: hotfixes.mark_merged(ctx, ana, "HF-1", "Quality Assurance", "Checkout"),
        ]
        for step in steps:
            deliverer.deliver(step().work)
        clock.advance(minutes=7)
        with transactions(ctx) as begun, counting(ctx) as statements:
            outcome = hotfixes.mark_merged(
                ctx,
                ana,
                "HF-1",
                "Quality Assurance",
                "Payments",
                request_key="action:U0ANA:merged:1764500000.000100",
            )
            deliverer.deliver(outcome.work)
        deliverer.stop()
    assert len(slack.calls("chat.update")) >= 2, "the message in both channels was updated"
    assert len(begun) == 2, f"{len(begun)} transactions:\n{listing(statements)}"
    assert len(statements) <= 14, f"{len(statements)} statements:\n{listing(statements)}"
    if ctx.db.engine.dialect.name == "postgresql":
        # The cost fell, not the guarantees: the hotfix's row is still locked first...
        assert "FOR UPDATE OF hotfix" in statements[0], listing(statements)
    # ...and the same click again (a Slack retry, a double click) applies nothing.
    with pytest.raises(AlreadyApplied):
        hotfixes.mark_merged(
            ctx,
            ana,
            "HF-1",
            "Quality Assurance",
            "Payments",
            request_key="action:U0ANA:merged:1764500000.000100",
        )
