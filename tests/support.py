"""Shared test helpers: a movable clock, database URLs, a dump of every table."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from standin.databases import empty_database

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


class MovableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@contextmanager
def fresh_database_url(backend: str, folder: Any) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new schema in the test PostgreSQL."""
    with empty_database(backend, folder, POSTGRES_URL) as url:
        yield url


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal dumps mean nothing changed."""
    result = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(table.select()).all()
            result[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return result
