"""Settings from the environment (and `.env`). A missing or malformed one stops start-up.

`EnvironmentSettings` is a pydantic-settings model: it reads each variable by its own name from
the process environment, then from `.env` in the working folder (the environment wins), and
validates every field. Each field's check raises one `setting` error carrying the lines to show
people, so pydantic gathers every problem of one start-up into one ValidationError, which
`Settings.from_environment` turns into a SettingsError: one line per problem, naming the
variable and what to put there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
_PLACEHOLDER_ORDER = list(_WHAT_TO_PUT)

# The variables ReminderPolicy.from_settings reads, in the order it reports them.
_REMINDER_VARIABLES = (
    "ESCALATE_AFTER_NUDGES",
    "WORKING_HOURS",
    "WORKING_DAYS",
    "REMINDER_OPEN_EVERY",
    "REMINDER_APPROVAL_EVERY",
    "REMINDER_PROPAGATING_EVERY",
    "ESCALATE_AFTER",
)


def _problem(*lines: str, placeholder: str | None = None) -> PydanticCustomError:
    """A field's failure: the lines people read. With `placeholder`, the first line says the
    variable holds .env.example's placeholder, and is listed with the other placeholders first."""
    return PydanticCustomError(
        "setting", "{problems}", {"problems": list(lines), "placeholder": placeholder}
    )


def _placeholder(name: str, value: str) -> None:
    if _is_placeholder(value):
        raise _problem(_placeholder_line(name), placeholder=name)


def _is_placeholder(value: str) -> bool:
    return PLACEHOLDER_MARK in value.casefold()


def _placeholder_line(name: str) -> str:
    return f"{name} still holds the placeholder from .env.example: put {_WHAT_TO_PUT[name]} there"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _name(info: ValidationInfo) -> str:
    """The variable a field is read from (its alias)."""
    assert info.field_name is not None
    alias = EnvironmentSettings.model_fields[info.field_name].validation_alias
    return str(alias or info.field_name)


def _slack_token(
    info: ValidationInfo, value: object, needed: bool, pattern: str, example: str
) -> str:
    """A token the command needs must be there and look right; one it does not use is
    ignored, whatever it holds."""
    if not needed:
        return ""
    name = _name(info)
    text = _text(value)
    _placeholder(name, text)
    if not text:
        raise _problem(f"{name} is not set (e.g. {example})")
    if not re.match(pattern, text):
        raise _problem(f"{name} is malformed: expected something like {example}")
    return text


class EnvironmentSettings(BaseSettings):
    """Every variable the bot reads, validated. Field order is the order problems are listed
    in (placeholders first). An empty variable means its default, as an unset one does."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=True,
        extra="ignore",
        frozen=True,
    )

    # What the command uses of Slack: always passed by from_environment (values passed to the
    # model win over the environment and .env), so the tokens it needs are checked first.
    uses_slack: bool = True
    socket_mode: bool = False

    bot_token: str = Field("", validation_alias="SLACK_BOT_TOKEN", validate_default=True)
    signing_secret: str = Field("", validation_alias="SLACK_SIGNING_SECRET", validate_default=True)
    app_token: str | None = Field(None, validation_alias="SLACK_APP_TOKEN", validate_default=True)
    lifetime_token: str | None = Field(None, validation_alias="LIFETIME_TOKEN")
    webhook_secret: str | None = Field(None, validation_alias="DEPLOY_WEBHOOK_SECRET")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    slack_api_url: str = Field(DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL")
    port: int = Field(3000, validation_alias="PORT")
    host: str = Field("0.0.0.0", validation_alias="HOST")
    http_threads: int = Field(8, validation_alias="HTTP_THREADS")
    listener_threads: int = Field(4, validation_alias="LISTENER_THREADS")
    admins: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), validation_alias="HOTFIX_ADMINS"
    )
    # Checked one by one by ReminderPolicy itself; `settings()` builds the policy from them.
    escalate_after_nudges: str = Field("", validation_alias="ESCALATE_AFTER_NUDGES")
    working_hours: str = Field("", validation_alias="WORKING_HOURS")
    working_days: str = Field("", validation_alias="WORKING_DAYS")
    remind_open_every: str = Field("", validation_alias="REMINDER_OPEN_EVERY")
    remind_approval_every: str = Field("", validation_alias="REMINDER_APPROVAL_EVERY")
    remind_propagating_every: str = Field("", validation_alias="REMINDER_PROPAGATING_EVERY")
    escalate_after: str = Field("", validation_alias="ESCALATE_AFTER")
    sweep_seconds: float = Field(60.0, validation_alias="REMINDER_SWEEP_SECONDS")
    deploy_poll_seconds: float = Field(5.0, validation_alias="DEPLOY_POLL_SECONDS")
    lifetime_watch_seconds: float = Field(120.0, validation_alias="LIFETIME_WATCH_SECONDS")
    deploy_stuck_after: timedelta = Field(
        timedelta(minutes=15), validation_alias="DEPLOY_STUCK_AFTER"
    )
    outbox_sweep_seconds: float = Field(2.0, validation_alias="OUTBOX_SWEEP_SECONDS")
    outbox_lease_seconds: float = Field(15.0, validation_alias="OUTBOX_LEASE_SECONDS")
    outbox_max_backoff_seconds: float = Field(10.0, validation_alias="OUTBOX_MAX_BACKOFF_SECONDS")
    shutdown_grace: float = Field(20.0, validation_alias="SHUTDOWN_GRACE")
    public_url: str | None = Field(None, validation_alias="PUBLIC_URL")
    database_wait: float = Field(30.0, validation_alias="DATABASE_WAIT")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: str = Field("text", validation_alias="LOG_FORMAT")

    # Numbers of seconds: (least, most, and what the line says after the range). The three
    # older ones never said "seconds" in their line; their wording is kept.
    _SECONDS: ClassVar[dict[str, tuple[float, float, str]]] = {
        "REMINDER_SWEEP_SECONDS": (0.1, 3600, ""),
        "DEPLOY_POLL_SECONDS": (0.1, 600, ""),
        "LIFETIME_WATCH_SECONDS": (1, 86400, ""),
        "OUTBOX_SWEEP_SECONDS": (0.05, 60, " seconds"),
        "OUTBOX_LEASE_SECONDS": (0.5, 300, " seconds"),
        "OUTBOX_MAX_BACKOFF_SECONDS": (0.1, 600, " seconds"),
        "SHUTDOWN_GRACE": (0, 600, " seconds"),
    }

    @field_validator("bot_token", mode="before")
    @classmethod
    def _bot_token(cls, value: object, info: ValidationInfo) -> str:
        needed = bool(info.data.get("uses_slack"))
        return _slack_token(info, value, needed, r"^xoxb-[\w-]+$", "xoxb-123-456-abc")

    @field_validator("signing_secret", mode="before")
    @classmethod
    def _signing_secret(cls, value: object, info: ValidationInfo) -> str:
        needed = bool(info.data.get("uses_slack"))
        return _slack_token(info, value, needed, r"^[0-9a-zA-Z]{16,}$", "a 32-hex secret")

    @field_validator("app_token", mode="before")
    @classmethod
    def _app_token(cls, value: object, info: ValidationInfo) -> str | None:
        needed = bool(info.data.get("uses_slack") and info.data.get("socket_mode"))
        return _slack_token(info, value, needed, r"^xapp-[\w-]+$", "xapp-1-A0-123-abc") or None

    @field_validator("lifetime_token", "webhook_secret", mode="before")
    @classmethod
    def _secret(cls, value: object, info: ValidationInfo) -> str | None:
        text = _text(value)
        _placeholder(_name(info), text)
        return text or None

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> str | None:
        # Taken as written (storage/setup.py checks it); only the placeholder is refused here.
        text = value if isinstance(value, str) else ""
        _placeholder("DATABASE_URL", text)
        return text or None

    @field_validator("slack_api_url", mode="before")
    @classmethod
    def _slack_api_url(cls, value: object) -> str:
        url = _text(value) or DEFAULT_SLACK_API_URL
        if not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", url):
            raise _problem("SLACK_API_URL is malformed: expected a URL like https://slack.com/api/")
        return url if url.endswith("/") else url + "/"

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: object) -> int:
        text = _text(value) or "3000"
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise _problem(f"PORT is malformed: '{text}' is not a port number (1-65535)")
        return int(text)

    @field_validator("host", mode="before")
    @classmethod
    def _host(cls, value: object) -> str:
        return _text(value) or "0.0.0.0"

    @field_validator("http_threads", mode="before")
    @classmethod
    def _http_threads(cls, value: object) -> int:
        text = _text(value) or "8"
        if not text.isdigit() or not 0 < int(text) <= 256:
            raise _problem(f"HTTP_THREADS is malformed: '{text}' (1-256)")
        return int(text)

    @field_validator("listener_threads", mode="before")
    @classmethod
    def _listener_threads(cls, value: object) -> int:
        text = _text(value) or "4"
        if not text.isdigit() or not 0 < int(text) <= 256:
            raise _problem(f"LISTENER_THREADS is malformed: '{text}' (1-256)")
        return int(text)

    @field_validator("admins", mode="before")
    @classmethod
    def _admins(cls, value: object) -> frozenset[str]:
        raw = value if isinstance(value, str) else ""
        # In the order written, so the lines come out the same on every start.
        admins = dict.fromkeys(part.strip() for part in raw.split(",") if part.strip())
        wrong = [
            f"HOTFIX_ADMINS is malformed: '{admin}' is not a Slack user id"
            for admin in admins
            if not re.match(r"^[UW][A-Z0-9]{2,30}$", admin)
        ]
        if wrong:
            raise _problem(*wrong)
        return frozenset(admins)

    @field_validator(
        "escalate_after_nudges",
        "working_hours",
        "working_days",
        "remind_open_every",
        "remind_approval_every",
        "remind_propagating_every",
        "escalate_after",
        mode="before",
    )
    @classmethod
    def _reminder_setting(cls, value: object, info: ValidationInfo) -> str:
        text = value if isinstance(value, str) else ""
        try:
            ReminderPolicy.from_settings({_name(info): text})
        except InvalidInput as error:
            raise _problem(*error.message.split("; ")) from None
        return text

    @field_validator("deploy_stuck_after", mode="before")
    @classmethod
    def _deploy_stuck_after(cls, value: object) -> timedelta:
        text = _text(value)
        if not text:
            return timedelta(minutes=15)
        try:
            return parse_duration(text)
        except InvalidInput as error:
            raise _problem(f"DEPLOY_STUCK_AFTER is malformed: {error.message}") from None

    @field_validator(
        "sweep_seconds",
        "deploy_poll_seconds",
        "lifetime_watch_seconds",
        "outbox_sweep_seconds",
        "outbox_lease_seconds",
        "outbox_max_backoff_seconds",
        "shutdown_grace",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: object, info: ValidationInfo) -> float:
        name = _name(info)
        assert info.field_name is not None
        least, most, unit = cls._SECONDS[name]
        text = _text(value) or f"{cls.model_fields[info.field_name].default:g}"
        try:
            seconds = float(text)
            if not least <= seconds <= most:
                raise ValueError(text)
        except ValueError:
            raise _problem(f"{name} is malformed: '{text}' ({least:g} to {most:g}{unit})") from None
        return seconds

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_url(cls, value: object) -> str | None:
        url = _text(value)
        lines = [_placeholder_line("PUBLIC_URL")] if _is_placeholder(url) else []
        if url and not re.match(r"^https?://\S+$", url):
            lines.append("PUBLIC_URL is malformed: expected https://hotfix-bot.example.com")
        if lines:
            raise _problem(*lines, placeholder="PUBLIC_URL" if _is_placeholder(url) else None)
        return url or None

    @field_validator("database_wait", mode="before")
    @classmethod
    def _database_wait(cls, value: object) -> float:
        text = _text(value) or "30"
        try:
            wait = (
                float(text)
                if re.fullmatch(r"\d+(\.\d+)?", text)
                else parse_duration(text).total_seconds()
            )
            if wait > 3600:
                raise InvalidInput(f"'{text}' is more than an hour")
        except InvalidInput as error:
            raise _problem(
                f"DATABASE_WAIT is malformed: {error.message} (seconds, like 30)"
            ) from None
        return wait

    # How each choice is written (its case) and the line that lists the allowed values.
    _CHOICES: ClassVar[dict[str, tuple[Callable[[str], str], tuple[str, ...], str]]] = {
        "LOG_LEVEL": (str.upper, LOG_LEVELS, f"one of {', '.join(LOG_LEVELS)}"),
        "LOG_FORMAT": (str.lower, LOG_FORMATS, "text or json"),
    }

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _choice(cls, value: object, info: ValidationInfo) -> str:
        name = _name(info)
        assert info.field_name is not None
        case, allowed, hint = cls._CHOICES[name]
        chosen = case(_text(value)) or str(cls.model_fields[info.field_name].default)
        if chosen not in allowed:
            raise _problem(f"{name} is malformed: '{chosen}' ({hint})")
        return chosen

    def settings(self) -> Settings:
        raw = {
            name: getattr(self, field_name)
            for field_name, info in type(self).model_fields.items()
            if (name := str(info.validation_alias)) in _REMINDER_VARIABLES
        }
        return Settings(
            bot_token=self.bot_token,
            signing_secret=self.signing_secret,
            app_token=self.app_token,
            slack_api_url=self.slack_api_url,
            database_url=self.database_url,
            port=self.port,
            host=self.host,
            admins=self.admins,
            http_threads=self.http_threads,
            listener_threads=self.listener_threads,
            # Each variable passed on its own, so together they pass too.
            reminders=ReminderPolicy.from_settings(raw),
            sweep_seconds=self.sweep_seconds,
            deployer_secrets=DeployerSecrets(
                lifetime_token=self.lifetime_token,
                webhook_secret=self.webhook_secret,
                public_url=self.public_url,
            ),
            deploy_poll_seconds=self.deploy_poll_seconds,
            lifetime_watch_seconds=self.lifetime_watch_seconds,
            deploy_stuck_after=self.deploy_stuck_after,
            outbox=OutboxPolicy(
                lease=timedelta(seconds=self.outbox_lease_seconds),
                max_backoff=timedelta(seconds=self.outbox_max_backoff_seconds),
            ),
            outbox_sweep_seconds=self.outbox_sweep_seconds,
            shutdown_grace=self.shutdown_grace,
            database_wait=self.database_wait,
            log_level=self.log_level,
            log_format=self.log_format,
        )


class _GivenSettings(EnvironmentSettings):
    """The same settings from a given mapping alone: neither the process environment nor `.env`
    is read (the tests and `from_environment(environ)` rely on it)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def problems_of(error: ValidationError) -> list[str]:
    """One line per problem, placeholders first (in .env.example's order), then field order."""
    found: list[tuple[int, str]] = []
    for detail in error.errors():
        context: dict[str, Any] = dict(detail.get("ctx") or {})
        lines = context.get("problems")
        if not lines:
            # Not one of ours (pydantic's own type check): still name the variable.
            where = ".".join(str(part) for part in detail["loc"]) or "a setting"
            lines = [f"{where} is malformed: {detail['msg']}"]
        placeholder = context.get("placeholder")
        rest = len(_PLACEHOLDER_ORDER)
        for index, line in enumerate(lines):
            found.append(
                (
                    _PLACEHOLDER_ORDER.index(placeholder) if placeholder and index == 0 else rest,
                    line,
                )
            )
    return [line for _, line in sorted(found, key=lambda item: item[0])]


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
        """The process environment and `.env`, or only `environ` when it is given.

        `slack=False` is the command line: the same settings, without Slack's tokens.
        """
        uses: dict[str, Any] = {"uses_slack": slack, "socket_mode": socket_mode}
        try:
            if environ is None:
                values = EnvironmentSettings(**uses)
            else:
                values = _GivenSettings(**{**environ, **uses})
        except ValidationError as error:
            raise SettingsError(problems_of(error)) from None
        return values.settings()
