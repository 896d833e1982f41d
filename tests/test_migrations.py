from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from storage import migrate
from storage.engine import make_engine
from storage.setup import SchemaOutOfDate, open_database


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_is_repeatable_and_reaches_head(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_postgres_is_not_migrated_behind_the_operators_back(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        database = open_database(database_url)  # the embedded default upgrades itself
        assert migrate.is_up_to_date(database.engine)
        database.engine.dispose()
        return
    try:
        open_database(database_url)
    except SchemaOutOfDate as error:
        assert "run `hotfix-bot db upgrade`" in str(error)
    else:
        raise AssertionError("an empty PostgreSQL must be refused until upgraded")
