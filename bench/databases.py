"""A fresh database per run: a new SQLite file, or a new schema in PostgreSQL dropped at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from standin.databases import empty_database
from storage.engine import normalize_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str:
    return normalize_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_URL)


def postgres_version(url: str) -> str | None:
    """The server's version, or None when PostgreSQL does not answer."""
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    except Exception:
        return None
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str, folder: Path, label: str) -> Iterator[str]:
    """The URL of an empty database; a PostgreSQL schema is dropped when the block ends."""
    url = postgres_url() if backend == "postgresql" else None
    with empty_database(backend, folder, url, label=f"bench_{label}") as fresh:
        yield fresh
