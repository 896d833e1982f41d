"""Start-up as an operator meets it: real processes, each failure one line and exit code 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from standin.lifetime import FakeLifeTime
from standin.web_api import FakeSlackWebApi
from storage.migrate import head_revision
from tests.conftest import EXAMPLE_CATALOG, ROOT
from tests.support import backends, fresh_database_url

SECRET = "0123456789abcdef0123456789abcdef"
SLACK = {"SLACK_BOT_TOKEN": "xoxb-right-1", "SLACK_SIGNING_SECRET": SECRET}
# Settings a developer's shell or CI may carry that would change what these tests see.
_OWN = ("SLACK_", "DATABASE_", "LIFETIME_", "DEPLOY_", "PUBLIC_URL", "WORKING_", "LOG_LEVEL")


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OWN)}
    # The per-user default database goes under the test's folder, not the real home.
    clean["XDG_DATA_HOME"] = str(cwd / "data")
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    """The process stopped with exit code 2, no traceback, and its last line says why."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("hotfix-bot cannot start: "), result.stderr
    assert sum("cannot start" in line for line in lines) == 1, result.stderr
    return lines[-1]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("garbage", "DATABASE_URL is malformed: it is not a database URL; use sqlite:///"),
        ("mysql://hotfix:pw@db/hotfix", "DATABASE_URL uses 'mysql', which hotfix-bot does not"),
    ],
)
def test_an_unusable_database_url(url: str, message: str, tmp_path: Path) -> None:
    for command in (["serve"], ["status"], ["db", "upgrade"]):
        env = {**SLACK, "DATABASE_URL": url}
        line = one_line_failure(run(*command, cwd=tmp_path, env=env))
        assert message in line
        assert "pw" not in line


def test_an_unreachable_database_is_waited_for_then_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://hotfix:s3cret-pw@127.0.0.1:{port}/hotfix"
    started = time.monotonic()
    result = run("status", cwd=tmp_path, env={"DATABASE_URL": url, "DATABASE_WAIT": "2"})
    line = one_line_failure(result)
    assert time.monotonic() - started >= 2, "it retried for DATABASE_WAIT"
    assert f"cannot reach the database postgresql+psycopg://hotfix:***@127.0.0.1:{port}" in line
    assert "after 2 s (DATABASE_WAIT)" in line and "check DATABASE_URL" in line
    assert "s3cret-pw" not in result.stderr


def test_every_malformed_setting_is_named_at_once(tmp_path: Path) -> None:
    env = {
        **SLACK,
        "WORKING_HOURS": "9 to 5",
        "WORKING_DAYS": "weekdays",
        "PORT": "http",
        "DATABASE_URL": "garbage",
        "DATABASE_WAIT": "a while",
    }
    line = one_line_failure(run("serve", cwd=tmp_path, env=env))
    for name in ("WORKING_HOURS", "WORKING_DAYS", "PORT", "DATABASE_URL", "DATABASE_WAIT"):
        assert f"{name} is malformed" in line, name


def test_the_traceback_only_with_log_level_debug(tmp_path: Path) -> None:
    result = run("status", cwd=tmp_path, env={"DATABASE_URL": "mysql://x", "LOG_LEVEL": "DEBUG"})
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("hotfix-bot cannot start: DATABASE_URL")


def _env_example() -> dict[str, str]:
    """Every setting .env.example shows, commented out or not, with its example value."""
    values = {}
    for raw in (ROOT / ".env.example").read_text().splitlines():
        line = raw.lstrip("# ").strip()
        name, sep, value = line.partition("=")
        if sep and name.isupper() and " " not in name:
            values.setdefault(name, value)
    return values


def test_placeholders_from_env_example_are_refused(tmp_path: Path) -> None:
    example = _env_example()
    # Copied as a whole into .env, as the README tells people to start.
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in example.items()))
    line = one_line_failure(run("serve", "--socket-mode", cwd=tmp_path))
    secrets = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "LIFETIME_TOKEN"]
    secrets += ["DEPLOY_WEBHOOK_SECRET", "PUBLIC_URL", "DATABASE_URL"]
    for name in secrets:
        assert f"{name} still holds the placeholder from .env.example" in line, name


@pytest.mark.parametrize("backend", backends())
def test_a_schema_the_code_does_not_match(backend: str, tmp_path: Path) -> None:
    with fresh_database_url(backend, tmp_path) as url:
        if backend == "sqlite":
            # A newer hotfix-bot migrated this file; this one must not guess.
            assert run("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": url}).returncode == 0
            path = url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as connection:
                connection.execute("UPDATE alembic_version SET version_num = '0999'")
            expected = "the database schema is at 0999, which this hotfix-bot does not know"
        else:
            expected = f"the database schema is at empty, the code needs {head_revision()}"
        line = one_line_failure(run("serve", cwd=tmp_path, env={**SLACK, "DATABASE_URL": url}))
        assert expected in line


def test_a_token_slack_rejects(tmp_path: Path) -> None:
    with FakeSlackWebApi(token="xoxb-right-1") as slack:
        env = {
            **SLACK,
            "SLACK_BOT_TOKEN": "xoxb-revoked-2",
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
        line = one_line_failure(run("serve", cwd=tmp_path, env=env))
        assert slack.last("auth.test").token == "xoxb-revoked-2"
    assert "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)" in line
    assert "OAuth & Permissions" in line


def test_deployer_secrets_the_catalog_needs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "applications:\n"
        "  - name: Shop\n    modules: [Cart]\n"
        "    deployer: {kind: lifetime, url: 'https://lifetime.example/lifetimeapi/rest/v2'}\n"
        "    versions: {prod: 1.0.0, preprod: 1.0.0, qa: 1.0.0, dev: 1.0.0}\n"
        "  - name: Portal\n    modules: [Web]\n"
        "    deployer: {kind: webhook, url: 'https://ci.example/deploy'}\n"
        "    versions: {prod: 1.0.0, preprod: 1.0.0, qa: 1.0.0, dev: 1.0.0}\n"
    )
    env = {"DATABASE_URL": url, "HOTFIX_CLI_USER": "U0ADMIN"}
    assert run("catalog", "load", str(catalog), cwd=tmp_path, env=env).returncode == 0
    with FakeSlackWebApi() as slack:
        serve_env = {**env, **SLACK, "SLACK_API_URL": slack.base_url}
        line = one_line_failure(run("serve", cwd=tmp_path, env=serve_env))
    assert "LIFETIME_TOKEN is not set, and Shop deploy(s) with LifeTime" in line
    assert "DEPLOY_WEBHOOK_SECRET is not set, and Portal deploy(s) with a webhook" in line
    assert "PUBLIC_URL is not set, and Portal deploy(s) with a webhook" in line


def test_the_command_line_reads_lifetime_token_like_serve(tmp_path: Path) -> None:
    with FakeLifeTime() as lifetime:
        for order, (name, kind) in enumerate(
            [
                ("Development", "Development"),
                ("Quality Assurance", "Test"),
                ("Pre-Production", "Test"),
                ("Production", "Production"),
            ]
        ):
            lifetime.add_environment(name, order, kind)
        lifetime.add_application("Shop", ["Cart"])
        for name in ("Development", "Quality Assurance", "Pre-Production", "Production"):
            lifetime.set_running("Shop", name, "3.2.0", False)
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            "applications:\n  - name: Shop\n    modules: [Cart]\n    owners: [U0ANA]\n"
            f"    deployer: {{kind: lifetime, url: '{lifetime.base_url}'}}\n"
            "    versions: {prod: 3.2.0, preprod: 3.2.0, qa: 3.2.0, dev: 3.2.0}\n"
        )
        env = {"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", "HOTFIX_CLI_USER": "U0ANA"}
        assert run("catalog", "load", str(catalog), cwd=tmp_path, env=env).returncode == 0
        refused = run("open", "Shop", "Cart", "Cart", "fails", cwd=tmp_path, env=env)
        assert refused.returncode == 1
        assert "LIFETIME_TOKEN is not set" in refused.stderr
        # The token only in .env, the way `serve` reads it too.
        (tmp_path / ".env").write_text(f"LIFETIME_TOKEN={lifetime.token}\n")
        opened = run("open", "Shop", "Cart", "Cart", "fails", cwd=tmp_path, env=env)
        assert opened.returncode == 0, opened.stderr
        assert "HF-1 · Shop · Cart fails" in opened.stdout
        assert any(method == "GET" for method, _ in lifetime.calls), "it asked LifeTime"


def test_the_default_database_is_per_user_not_per_folder(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    data = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOTFIX_CLI_USER": "U0ADMIN"}
    loaded = run("catalog", "load", str(EXAMPLE_CATALOG), cwd=here, env=data)
    assert loaded.returncode == 0, loaded.stderr
    status = run("status", "eCommerce", cwd=there, env=data)
    assert status.returncode == 0, status.stderr
    expected = tmp_path / "data" / "hotfix-bot" / "hotfix-bot.db"
    assert f"database: sqlite:///{expected}" in status.stderr
    assert "eCommerce" in status.stdout
    assert not list(here.iterdir()) and not list(there.iterdir())
    upgrade = run("db", "upgrade", cwd=there, env=data)
    assert f"database: sqlite:///{expected}" in upgrade.stderr
