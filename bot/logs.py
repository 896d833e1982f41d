"""Log lines as text or JSON, each with the request id it was written for, never a secret."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot import observe
from bot.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Slack token shapes (bot, user, app, refresh, config), whatever variable they came from.
_TOKEN = re.compile(r"\b(?:xox[abeprs]|xapp|xoxe\.xox[bp])-[0-9A-Za-z-]{6,}")
REDACTED = "[redacted]"
# INFO lines that come with every run, not with news: APScheduler's executor writes two per
# job run (thousands a day at a 5 s poll); Alembic two per schema look (each /readyz probe).
_ROUTINE = {
    "apscheduler.executors.default": ("Running job", "Job "),
    "alembic.runtime.migration": ("Context impl", "Will assume"),
}


def configure_logging(
    level: str = "INFO",
    format: str = "text",
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one that writes to stderr (or `stream`)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    known = [secret for secret in secrets if secret]
    handler.setFormatter(JsonFormatter(known) if format == "json" else TextFormatter(known))
    handler.addFilter(_with_request_id)
    # The handler's own level drops what the chatty loggers were demoted to.
    handler.setLevel(level)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _ROUTINE:
        chatty = logging.getLogger(name)
        if _demote_routine not in chatty.filters:
            chatty.addFilter(_demote_routine)
    return handler


def secrets_of(settings: Settings) -> list[str | None]:
    """Every configured secret, for the formatter to blank out wherever it appears."""
    return [
        settings.bot_token,
        settings.signing_secret,
        settings.app_token,
        settings.deployer_secrets.lifetime_token,
        settings.deployer_secrets.webhook_secret,
    ]


def _with_request_id(record: logging.LogRecord) -> bool:
    if not hasattr(record, "request_id"):
        record.request_id = observe.current_id()
    return True


def _demote_routine(record: logging.LogRecord) -> bool:
    routine = _ROUTINE.get(record.name, ())
    if record.levelno == logging.INFO and str(record.msg).startswith(routine):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
    return True


class _Redacting(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is blanked whole.
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN.sub(REDACTED, text)


class TextFormatter(_Redacting):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__(secrets, TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(_Redacting):
    """One JSON object per line: time, level, logger, request_id, thread, message, and the
    request's fields (kind, name, team, user, channel, hotfix, outcome, ms) on the per-request
    line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        if isinstance(request, dict):
            line.update(request)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        # Redacted field by field, before JSON escaping could hide a secret's characters.
        clean = {key: self.redact(v) if isinstance(v, str) else v for key, v in line.items()}
        return json.dumps(clean, ensure_ascii=False, default=str)
