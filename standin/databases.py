"""An empty database for a test or a benchmark run: a new SQLite file, or a new schema in a
PostgreSQL server (selected with search_path in the URL) that is dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text


@contextmanager
def empty_database(
    backend: str, folder: Path, postgres_url: str | None = None, label: str = "t"
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{label}-{uuid.uuid4().hex[:8]}.db"
        return
    if not postgres_url:
        raise ValueError("a PostgreSQL database needs the server's URL")
    schema = f"{label}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
