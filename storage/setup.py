"""Opening the database the way the serving process and the CLI need it."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from storage import migrate
from storage.engine import is_sqlite, make_engine, shown_url
from storage.repository import Database


class SchemaOutOfDate(Exception):
    pass


class DatabaseUnreachable(Exception):
    pass


def open_database(
    url: str | None = None, *, upgrade: bool | None = None, wait_seconds: float = 0
) -> Database:
    """The embedded SQLite default upgrades itself; PostgreSQL is upgraded on purpose.

    A shared PostgreSQL is migrated once, by `hotfix-bot db upgrade`, not by whichever replica
    starts first.
    """
    engine = make_engine(url)
    wait_until_reachable(engine, wait_seconds)
    if upgrade if upgrade is not None else is_sqlite(engine):
        refuse_unknown_revision(engine)
        migrate.upgrade(engine)
    else:
        check_schema(engine)
    return Database(engine)


def wait_until_reachable(engine: Engine, wait_seconds: float) -> None:
    """A database started alongside the bot (compose, a cluster) may take a while to accept."""
    deadline = time.monotonic() + max(wait_seconds, 0)
    pause = 0.25
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError as error:
            # SQLite fails the same way every time (a missing folder, no permission).
            if is_sqlite(engine) or time.monotonic() + pause > deadline:
                reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
                engine.dispose()
                waited = "" if is_sqlite(engine) else f" after {wait_seconds:g} s (DATABASE_WAIT)"
                raise DatabaseUnreachable(
                    f"cannot reach the database {shown_url(engine.url)}{waited}: {reason}; "
                    "check DATABASE_URL and that the database is running"
                ) from error
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def refuse_unknown_revision(engine: Engine) -> None:
    """A newer hotfix-bot migrated this database: this one must not guess at its tables."""
    current = migrate.current_revision(engine)
    if current is not None and not migrate.is_known(current):
        engine.dispose()
        raise SchemaOutOfDate(
            f"the database schema is at {current}, which this hotfix-bot does not know "
            f"(it ends at {migrate.head_revision()}): run the hotfix-bot version that "
            "migrated it, or a newer one"
        )


def check_schema(engine: Engine) -> None:
    if migrate.is_up_to_date(engine):
        return
    refuse_unknown_revision(engine)
    current = migrate.current_revision(engine)
    head = migrate.head_revision()
    engine.dispose()
    raise SchemaOutOfDate(
        f"the database schema is at {current or 'empty'}, the code needs {head}: "
        "run `hotfix-bot db upgrade`"
    )


def engine_of(database: Database) -> Engine:
    return database.engine
