"""Settings from the environment (and `.env`). A missing or malformed one stops start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from commands.context import OutboxPolicy
from commands.deployers.registry import DeployerSecrets
from commands.durations import parse_duration
from commands.errors import InvalidInput
from commands.reminder_rules import ReminderPolicy

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


class SettingsError(Exception):
    """Names every variable at fault and what it should look like."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# .env.example writes every value to replace as "your-..."; one left in place is a mistake.
PLACEHOLDER_MARK = "your-"
_WHAT_TO_PUT = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (OAuth & Permissions page)",
    "SLACK_SIGNING_SECRET": "the Signing Secret (Basic Information page)",
    "SLACK_APP_TOKEN": "an app-level token with connections:write (Basic Information page)",
    "LIFETIME_TOKEN": "a LifeTime service account token",
    "DEPLOY_WEBHOOK_SECRET": "a long random secret shared with the pipeline",
    "PUBLIC_URL": "the https address where Slack and the pipeline reach the bot",
    "DATABASE_URL": "the real database address and password",
}


def placeholders(env: Mapping[str, str], skip: frozenset[str] = frozenset()) -> list[str]:
    """Settings still holding the placeholder text from .env.example."""
    return [
        f"{name} still holds the placeholder from .env.example: put {what} there"
        for name, what in _WHAT_TO_PUT.items()
        if name not in skip and PLACEHOLDER_MARK in env.get(name, "").casefold()
    ]


@dataclass(frozen=True)
class Settings:
    bot_token: str
    signing_secret: str
    app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str | None = None
    port: int = 3000
    host: str = "0.0.0.0"
    admins: frozenset[str] = field(default_factory=frozenset)
    http_threads: int = 8
    listener_threads: int = 4
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    sweep_seconds: float = 60.0
    deployer_secrets: DeployerSecrets = field(default_factory=DeployerSecrets)
    deploy_poll_seconds: float = 5.0
    lifetime_watch_seconds: float = 120.0
    deploy_stuck_after: timedelta = timedelta(minutes=15)
    outbox: OutboxPolicy = field(default_factory=OutboxPolicy)
    outbox_sweep_seconds: float = 2.0
    shutdown_grace: float = 20.0
    database_wait: float = 30.0
    log_level: str = "INFO"
    log_format: str = "text"

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        socket_mode: bool = False,
        slack: bool = True,
    ) -> Settings:
        """`slack=False` is the command line: the same settings, without Slack's tokens."""
        env = os.environ if environ is None else environ
        unused = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} if not slack else set()
        if not (slack and socket_mode):
            unused.add("SLACK_APP_TOKEN")
        errors: list[str] = placeholders(env, frozenset(unused))
        placeheld = {problem.split(" ", 1)[0] for problem in errors}

        def required(name: str, pattern: str, example: str) -> str:
            value = env.get(name, "").strip()
            if name in placeheld:
                return value
            if not value:
                errors.append(f"{name} is not set (e.g. {example})")
            elif not re.match(pattern, value):
                errors.append(f"{name} is malformed: expected something like {example}")
            return value

        bot_token = signing_secret = ""
        if slack:
            bot_token = required("SLACK_BOT_TOKEN", r"^xoxb-[\w-]+$", "xoxb-123-456-abc")
            signing_secret = required(
                "SLACK_SIGNING_SECRET", r"^[0-9a-zA-Z]{16,}$", "a 32-hex secret"
            )
        app_token = None
        if socket_mode and slack:
            app_token = required("SLACK_APP_TOKEN", r"^xapp-[\w-]+$", "xapp-1-A0-123-abc")
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
        if not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", api_url):
            errors.append("SLACK_API_URL is malformed: expected a URL like https://slack.com/api/")
        elif not api_url.endswith("/"):
            api_url += "/"
        port_text = env.get("PORT", "").strip() or "3000"
        port = 0
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            errors.append(f"PORT is malformed: '{port_text}' is not a port number (1-65535)")
        else:
            port = int(port_text)
        threads_text = env.get("HTTP_THREADS", "").strip() or "8"
        if not threads_text.isdigit() or not 0 < int(threads_text) <= 256:
            errors.append(f"HTTP_THREADS is malformed: '{threads_text}' (1-256)")
        listeners_text = env.get("LISTENER_THREADS", "").strip() or "4"
        if not listeners_text.isdigit() or not 0 < int(listeners_text) <= 256:
            errors.append(f"LISTENER_THREADS is malformed: '{listeners_text}' (1-256)")
        admins = frozenset(
            part.strip() for part in env.get("HOTFIX_ADMINS", "").split(",") if part.strip()
        )
        for admin in admins:
            if not re.match(r"^[UW][A-Z0-9]{2,30}$", admin):
                errors.append(f"HOTFIX_ADMINS is malformed: '{admin}' is not a Slack user id")
        reminders = ReminderPolicy()
        try:
            reminders = ReminderPolicy.from_settings(env)
        except InvalidInput as error:
            errors.extend(error.message.split("; "))
        sweep_text = env.get("REMINDER_SWEEP_SECONDS", "").strip() or "60"
        try:
            sweep_seconds = float(sweep_text)
            if not 0.1 <= sweep_seconds <= 3600:
                raise ValueError(sweep_text)
        except ValueError:
            errors.append(f"REMINDER_SWEEP_SECONDS is malformed: '{sweep_text}' (0.1 to 3600)")
            sweep_seconds = 60.0
        poll_text = env.get("DEPLOY_POLL_SECONDS", "").strip() or "5"
        try:
            deploy_poll_seconds = float(poll_text)
            if not 0.1 <= deploy_poll_seconds <= 600:
                raise ValueError(poll_text)
        except ValueError:
            errors.append(f"DEPLOY_POLL_SECONDS is malformed: '{poll_text}' (0.1 to 600)")
            deploy_poll_seconds = 5.0
        watch_text = env.get("LIFETIME_WATCH_SECONDS", "").strip() or "120"
        try:
            lifetime_watch_seconds = float(watch_text)
            if not 1 <= lifetime_watch_seconds <= 86400:
                raise ValueError(watch_text)
        except ValueError:
            errors.append(f"LIFETIME_WATCH_SECONDS is malformed: '{watch_text}' (1 to 86400)")
            lifetime_watch_seconds = 120.0
        stuck_after = timedelta(minutes=15)
        stuck_text = env.get("DEPLOY_STUCK_AFTER", "").strip()
        if stuck_text:
            try:
                stuck_after = parse_duration(stuck_text)
            except InvalidInput as error:
                errors.append(f"DEPLOY_STUCK_AFTER is malformed: {error.message}")

        def seconds(name: str, default: float, least: float, most: float) -> float:
            text = env.get(name, "").strip()
            try:
                value = float(text) if text else default
                if not least <= value <= most:
                    raise ValueError(text)
            except ValueError:
                errors.append(f"{name} is malformed: '{text}' ({least:g} to {most:g} seconds)")
                return default
            return value

        outbox_sweep_seconds = seconds("OUTBOX_SWEEP_SECONDS", 2.0, 0.05, 60)
        outbox = OutboxPolicy(
            lease=timedelta(seconds=seconds("OUTBOX_LEASE_SECONDS", 15.0, 0.5, 300)),
            max_backoff=timedelta(seconds=seconds("OUTBOX_MAX_BACKOFF_SECONDS", 10.0, 0.1, 600)),
        )
        shutdown_grace = seconds("SHUTDOWN_GRACE", 20.0, 0, 600)
        public_url = env.get("PUBLIC_URL", "").strip() or None
        if public_url and not re.match(r"^https?://\S+$", public_url):
            errors.append("PUBLIC_URL is malformed: expected https://hotfix-bot.example.com")
        wait_text = env.get("DATABASE_WAIT", "").strip() or "30"
        database_wait = 30.0
        try:
            database_wait = (
                float(wait_text)
                if re.fullmatch(r"\d+(\.\d+)?", wait_text)
                else parse_duration(wait_text).total_seconds()
            )
            if database_wait > 3600:
                raise InvalidInput(f"'{wait_text}' is more than an hour")
        except InvalidInput as error:
            errors.append(f"DATABASE_WAIT is malformed: {error.message} (seconds, like 30)")
        log_level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            errors.append(f"LOG_LEVEL is malformed: '{log_level}' (one of {', '.join(LOG_LEVELS)})")
        log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            errors.append(f"LOG_FORMAT is malformed: '{log_format}' (text or json)")
        if errors:
            raise SettingsError(errors)
        return cls(
            bot_token=bot_token,
            signing_secret=signing_secret,
            app_token=app_token,
            slack_api_url=api_url,
            database_url=env.get("DATABASE_URL") or None,
            port=port,
            host=env.get("HOST", "").strip() or "0.0.0.0",
            admins=admins,
            http_threads=int(threads_text) if threads_text.isdigit() else 8,
            listener_threads=int(listeners_text) if listeners_text.isdigit() else 4,
            reminders=reminders,
            sweep_seconds=sweep_seconds,
            deployer_secrets=DeployerSecrets(
                lifetime_token=env.get("LIFETIME_TOKEN", "").strip() or None,
                webhook_secret=env.get("DEPLOY_WEBHOOK_SECRET", "").strip() or None,
                public_url=public_url,
            ),
            deploy_poll_seconds=deploy_poll_seconds,
            lifetime_watch_seconds=lifetime_watch_seconds,
            deploy_stuck_after=stuck_after,
            outbox=outbox,
            outbox_sweep_seconds=outbox_sweep_seconds,
            shutdown_grace=shutdown_grace,
            database_wait=database_wait,
            log_level=log_level,
            log_format=log_format,
        )
