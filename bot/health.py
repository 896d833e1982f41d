"""Liveness, readiness and the metrics page, for `/healthz`, `/readyz` and `/metrics`.

Alive means the process answers HTTP. Ready means it can do its job: the database answers and
its schema is the code's, the scheduler (reminders, deployment follower) runs, and Slack
accepted the bot token (`auth.test`, checked until it once succeeds).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.slack_web import ObservingHandler
from commands import health
from commands.context import ServiceContext

log = logging.getLogger(__name__)
OK = "ok"
PROBE_TIMEOUT_SECONDS = 2


class SchedulerLike(Protocol):
    @property
    def running(self) -> bool: ...


class LifeTimeWatchLike(Protocol):
    def problems(self) -> dict[str, str]: ...


class Health:
    def __init__(self, ctx: ServiceContext, client: WebClient) -> None:
        self.ctx = ctx
        # A probe answers in a second or two: one try, a short timeout, no retry back-off.
        self.client = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=PROBE_TIMEOUT_SECONDS,
            retry_handlers=[ObservingHandler()],
        )
        self.registry = metrics.registry_for(ctx)
        self.scheduler: SchedulerLike | None = None
        self.lifetime: LifeTimeWatchLike | None = None
        self._slack_accepted = False
        self._lock = threading.Lock()

    def watch_scheduler(self, scheduler: SchedulerLike) -> None:
        self.scheduler = scheduler

    def watch_lifetime(self, watch: LifeTimeWatchLike) -> None:
        self.lifetime = watch

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Each check's state ("ok" or what is wrong), and whether all are ok.

        A LifeTime that does not answer is a detail (``lifetime_watch``), not a failed check:
        the bot still does its job, and the watch backs off until LifeTime answers."""
        checks = {
            "database": self._database(),
            "schema": "unknown",
            "scheduler": self._scheduler(),
            "slack_auth": self._slack_auth(),
        }
        if checks["database"] == OK:
            checks["schema"] = self._schema()
        ready = all(state == OK for state in checks.values())
        problems = self.lifetime.problems() if self.lifetime is not None else {}
        if problems:
            checks["lifetime_watch"] = "; ".join(
                f"{url}: {what}" for url, what in sorted(problems.items())
            )
        return ready, checks

    def metrics_page(self) -> tuple[bytes, str]:
        return metrics.exposition(self.registry)

    def _database(self) -> str:
        return OK if health.database_answers(self.ctx) else "unreachable"

    def _schema(self) -> str:
        try:
            current = health.schema_is_current(self.ctx)
        except Exception:
            return "unreadable"
        return OK if current else "behind the code: run `hotfix-bot db upgrade`"

    def _scheduler(self) -> str:
        if self.scheduler is None:
            return "not started"
        return OK if self.scheduler.running else "stopped"

    def _slack_auth(self) -> str:
        with self._lock:
            if self._slack_accepted:
                return OK
            try:
                answer: Any = self.client.auth_test()
            except SlackApiError as error:
                return f"rejected: {error.response.get('error')}"
            except Exception as error:
                log.warning("auth.test failed: %s", type(error).__name__)
                return "unreachable"
            self._slack_accepted = bool(answer.get("ok"))
            return OK if self._slack_accepted else "rejected"
