"""The layers hold: commands/ knows the domain, not SQL and not Slack.

Queries live in storage/repository.py behind named methods; a `select(...)` or a reach into the
repository's session from commands/ would put SQL back in the service layer, unseen by the
query-cost tests and the PostgreSQL checks that cover the repository.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Top-level packages commands/ must not import: query builders and Slack's libraries.
FORBIDDEN_PACKAGES = ("sqlalchemy", "sqlmodel", "slack_sdk", "slack_bolt", "bot")


def faults(source: str, filename: str) -> list[str]:
    """Each forbidden import, and each use of a `.session` attribute, in one module's source."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and node.attr == "session":
            found.append(f"{filename}:{node.lineno}: uses .session (add a repository method)")
            continue
        else:
            continue
        for name in names:
            if name.split(".")[0] in FORBIDDEN_PACKAGES:
                found.append(f"{filename}:{node.lineno}: imports {name}")
    return found


def test_commands_import_no_query_builder_nor_slack_and_never_touch_the_session() -> None:
    paths = sorted((ROOT / "commands").rglob("*.py"))
    assert len(paths) > 10  # the walk found the package
    problems = [
        fault
        for path in paths
        for fault in faults(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert problems == []


def test_the_check_catches_a_query_builder_and_a_session() -> None:
    source = (
        "from sqlmodel import select\n"
        "import sqlalchemy.orm\n"
        "from storage.models import Hotfix\n"
        "def rows(repository):\n"
        "    return repository.session.exec(select(Hotfix)).all()\n"
    )
    assert faults(source, "bad.py") == [
        "bad.py:1: imports sqlmodel",
        "bad.py:2: imports sqlalchemy.orm",
        "bad.py:5: uses .session (add a repository method)",
    ]
