"""What the figures were measured on: CPU, cores, memory, Python, packages, database servers."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
from pathlib import Path

PACKAGES = (
    "slack-bolt",
    "slack-sdk",
    "sqlmodel",
    "sqlalchemy",
    "waitress",
    "psycopg",
    "alembic",
)


def _first_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def cpu_model() -> str:
    return _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown"


def memory_total() -> str:
    value = _first_value(Path("/proc/meminfo"), "MemTotal")
    if value is None:
        return "unknown"
    kilobytes = int(value.split()[0])
    return f"{kilobytes / 1024 / 1024:.1f} GiB"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was with other work too."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def describe(postgres_version: str | None) -> list[tuple[str, str]]:
    """(label, value) rows for the report."""
    rows = [
        ("CPU", cpu_model()),
        ("Cores (logical)", str(os.cpu_count() or "unknown")),
        ("Memory", memory_total()),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
    ]
    if postgres_version:
        rows.append(("PostgreSQL", postgres_version))
    rows.extend((name, version) for name, version in package_versions().items())
    return rows
