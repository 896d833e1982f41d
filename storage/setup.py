"""Opening the database the way the serving process and the CLI need it."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage import migrate
from storage.engine import is_sqlite, make_engine
from storage.repository import Database


class SchemaOutOfDate(Exception):
    pass


def open_database(url: str | None = None, *, upgrade: bool | None = None) -> Database:
    """The embedded SQLite default upgrades itself; PostgreSQL is upgraded on purpose.

    A shared PostgreSQL is migrated once, by `hotfix-bot db upgrade`, not by whichever replica
    starts first.
    """
    engine = make_engine(url)
    if upgrade if upgrade is not None else is_sqlite(engine):
        migrate.upgrade(engine)
    elif not migrate.is_up_to_date(engine):
        current = migrate.current_revision(engine) or "empty"
        engine.dispose()
        raise SchemaOutOfDate(
            f"the database schema is at {current}, the code needs {migrate.head_revision()}: "
            "run `hotfix-bot db upgrade`"
        )
    return Database(engine)


def engine_of(database: Database) -> Engine:
    return database.engine
