"""The engine from DATABASE_URL and explicit sessions.

SQLite is the embedded default (WAL, foreign keys on, writers serialized by BEGIN IMMEDIATE);
PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, create_engine

URL_EXAMPLES = "sqlite:////var/lib/hotfix-bot/hotfix-bot.db or postgresql://user:password@host/db"


class DatabaseSettingError(Exception):
    """DATABASE_URL cannot be used; the message names it and what to write instead."""


def default_database_path() -> Path:
    """One file per user wherever the command runs (not the working directory)."""
    return Path(user_data_dir("hotfix-bot", appauthor=False)) / "hotfix-bot.db"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


def normalize_url(url: str) -> str:
    """Accept the plain `postgresql://` and `postgres://` forms and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(url: str | None = None) -> URL:
    """The URL to use: the given one, DATABASE_URL, or the per-user SQLite file; checked."""
    text = (url or os.environ.get("DATABASE_URL") or "").strip() or default_database_url()
    try:
        parsed = make_url(normalize_url(text))
    except ArgumentError as error:
        # The value is not echoed: a mistyped URL may still carry a password.
        raise DatabaseSettingError(
            f"DATABASE_URL is malformed: it is not a database URL; use {URL_EXAMPLES}"
        ) from error
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseSettingError(
            f"DATABASE_URL uses '{backend}', which hotfix-bot does not support; use {URL_EXAMPLES}"
        )
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseSettingError(
            f"DATABASE_URL names the driver '{parsed.get_driver_name()}'; write postgresql:// "
            "(hotfix-bot uses psycopg 3)"
        )
    return parsed


def shown_url(url: URL) -> str:
    """For people and logs: the password is masked."""
    return url.render_as_string(hide_password=True)


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(parsed.render_as_string(hide_password=False), echo=echo)
    # A server that does not answer must not hang a request or a /readyz probe for minutes.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
    return create_engine(
        parsed,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args=connect_args,
    )


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    in_memory = make_url(url).database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if in_memory:
        from sqlalchemy.pool import StaticPool

        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, echo=echo, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front, so two writers queue instead of
        # failing halfway with "database is locked" on lock upgrade.
        if connection.get_execution_options().get("read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back whole on any exception."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    read_only = engine.execution_options(read_only=True)
    with Session(read_only, expire_on_commit=False) as session, session.begin():
        yield session
