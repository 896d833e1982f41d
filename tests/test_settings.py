from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import DEFAULT_SLACK_API_URL, Settings, SettingsError

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123456789abcdef0123"}


def test_defaults() -> None:
    settings = Settings.from_environment(GOOD)
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.port == 3000
    assert settings.database_url is None
    assert settings.admins == frozenset()
    assert settings.listener_threads == 4


def test_everything_configurable() -> None:
    settings = Settings.from_environment(
        {
            **GOOD,
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
            "PORT": "8080",
            "DATABASE_URL": "sqlite:///x.db",
            "HOTFIX_ADMINS": "U0ADMIN, U0OTHER",
            "SLACK_APP_TOKEN": "xapp-1-A-1-x",
            "LISTENER_THREADS": "12",
        },
        socket_mode=True,
    )
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.port == 8080
    assert settings.admins == {"U0ADMIN", "U0OTHER"}
    assert settings.app_token == "xapp-1-A-1-x"
    assert settings.listener_threads == 12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN is malformed"),
        ({"SLACK_SIGNING_SECRET": "short"}, "SLACK_SIGNING_SECRET is malformed"),
        ({"PORT": "http"}, "PORT is malformed: 'http'"),
        ({"PORT": "70000"}, "PORT is malformed"),
        ({"SLACK_API_URL": "slack api"}, "SLACK_API_URL is malformed"),
        ({"HOTFIX_ADMINS": "ana"}, "HOTFIX_ADMINS is malformed: 'ana'"),
        ({"LISTENER_THREADS": "0"}, "LISTENER_THREADS is malformed: '0'"),
        ({"LISTENER_THREADS": "many"}, "LISTENER_THREADS is malformed"),
    ],
)
def test_a_missing_or_malformed_setting_names_itself(change: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_environment({**GOOD, **change})


def test_socket_mode_needs_the_app_token() -> None:
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN is not set"):
        Settings.from_environment(GOOD, socket_mode=True)


def test_the_command_line_needs_no_slack_tokens_but_checks_the_rest() -> None:
    settings = Settings.from_environment({"LIFETIME_TOKEN": "lt-1"}, slack=False)
    assert settings.deployer_secrets.lifetime_token == "lt-1"
    with pytest.raises(SettingsError, match="DEPLOY_POLL_SECONDS is malformed"):
        Settings.from_environment({"DEPLOY_POLL_SECONDS": "often"}, slack=False)


@pytest.mark.parametrize(
    ("text", "seconds"), [("", 30.0), ("0", 0.0), ("45", 45.0), ("2m", 120.0), ("1.5", 1.5)]
)
def test_database_wait(text: str, seconds: float) -> None:
    assert Settings.from_environment({**GOOD, "DATABASE_WAIT": text}).database_wait == seconds


def test_problems_are_all_reported_and_placeholders_named() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment(
            {
                "SLACK_BOT_TOKEN": "xoxb-your-bot-token",
                "SLACK_SIGNING_SECRET": "short",
                "DATABASE_WAIT": "2h",
                "LIFETIME_TOKEN": "your-lifetime-service-account-token",
                # Not used over HTTP, so not a problem there.
                "SLACK_APP_TOKEN": "xapp-your-app-level-token",
            }
        )
    problems = raised.value.problems
    assert problems == [
        "SLACK_BOT_TOKEN still holds the placeholder from .env.example: put the Bot User OAuth "
        "Token (OAuth & Permissions page) there",
        "LIFETIME_TOKEN still holds the placeholder from .env.example: put a LifeTime service "
        "account token there",
        "SLACK_SIGNING_SECRET is malformed: expected something like a 32-hex secret",
        "DATABASE_WAIT is malformed: '2h' is more than an hour (seconds, like 30)",
    ]


def test_lifetime_watch_seconds_defaults_to_two_minutes_and_refuses_nonsense() -> None:
    assert Settings.from_environment({}, slack=False).lifetime_watch_seconds == 120.0
    assert (
        Settings.from_environment(
            {"LIFETIME_WATCH_SECONDS": "30"}, slack=False
        ).lifetime_watch_seconds
        == 30.0
    )
    for bad in ("often", "0", "-5"):
        with pytest.raises(SettingsError, match="LIFETIME_WATCH_SECONDS is malformed"):
            Settings.from_environment({"LIFETIME_WATCH_SECONDS": bad}, slack=False)


def test_the_environment_wins_over_dot_env_and_a_given_mapping_reads_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=0123456789abcdef0123\n"
        "PORT=8081\nHOTFIX_ADMINS=U0ANA, U0RAJ\nPOSTGRES_PASSWORD=only-for-compose\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-environment")
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("HOTFIX_ADMINS", raising=False)
    read = Settings.from_environment()
    assert read.bot_token == "xoxb-from-environment"
    assert read.signing_secret == "0123456789abcdef0123"
    assert (read.port, read.admins) == (8081, {"U0ANA", "U0RAJ"})
    # A mapping given is all there is: the file's secret and the environment's token are not.
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment({"PORT": "8082"})
    assert raised.value.problems == [
        "SLACK_BOT_TOKEN is not set (e.g. xoxb-123-456-abc)",
        "SLACK_SIGNING_SECRET is not set (e.g. a 32-hex secret)",
    ]
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(SettingsError, match="PORT is malformed: 'http'"):
        Settings.from_environment()


def test_a_placeholder_comes_first_and_its_other_fault_is_still_named() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment(
            {**GOOD, "PORT": "x", "PUBLIC_URL": "your-host", "HOTFIX_ADMINS": "U0ANA,bad,worse"}
        )
    assert raised.value.problems == [
        "PUBLIC_URL still holds the placeholder from .env.example: put the https address where "
        "Slack and the pipeline reach the bot there",
        "PORT is malformed: 'x' is not a port number (1-65535)",
        "HOTFIX_ADMINS is malformed: 'bad' is not a Slack user id",
        "HOTFIX_ADMINS is malformed: 'worse' is not a Slack user id",
        "PUBLIC_URL is malformed: expected https://hotfix-bot.example.com",
    ]
