from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commands import applications
from commands.actors import Actor
from commands.context import ServiceContext
from storage.repository import Database
from storage.setup import open_database
from tests.support import MovableClock, backends, fresh_database_url

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG = ROOT / "examples" / "catalog.yaml"
ADMIN = Actor("U0ADMIN", is_admin=True)


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = open_database(database_url, upgrade=True)
    yield database
    database.engine.dispose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def ctx(database: Database, clock: MovableClock) -> ServiceContext:
    """A database with the example catalog loaded (eCommerce at 1.7.0)."""
    context = ServiceContext(database, clock)
    applications.load_catalog(context, ADMIN, EXAMPLE_CATALOG)
    return context
