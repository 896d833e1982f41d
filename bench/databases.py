"""A fresh database per run: a new SQLite file, or a new schema in PostgreSQL dropped at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

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
    if backend == "sqlite":
        yield f"sqlite:///{folder}/bench-{label}-{uuid.uuid4().hex[:6]}.db"
        return
    base = postgres_url()
    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
