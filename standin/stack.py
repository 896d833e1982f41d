"""The whole product on one machine without Slack: the real Bolt app served over real HTTP,
talking to the fake Slack Web API, driven by signed requests as Slack would send them.

The demo and the tests compose it the same way as `hotfix-bot serve` does, through
`bot.app.build_app` and `bot.server`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App

from bot.app import build_app, finish_listeners
from bot.reminders import start_scheduler
from bot.server import RunningServer, start_http, wsgi_app
from bot.services import BotServices
from bot.settings import Settings
from commands.context import ServiceContext
from commands.reminder_rules import ReminderPolicy
from standin.slack_client import SlackDriver
from standin.web_api import FakeSlackWebApi, RecordedCall


class LocalSlackStack:
    def __init__(
        self,
        ctx: ServiceContext,
        *,
        admins: Iterable[str] = (),
        on_call: Callable[[RecordedCall], None] | None = None,
        http_threads: int = 8,
        reminders: ReminderPolicy | None = None,
        sweep_seconds: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.signing_secret = secrets.token_hex(16)
        self.token = "xoxb-local-" + secrets.token_hex(6)
        self.slack = FakeSlackWebApi(token=self.token, on_call=on_call)
        self.admins = frozenset(admins)
        self.http_threads = http_threads
        self.reminders = reminders or ctx.reminders
        self.sweep_seconds = sweep_seconds  # None: no scheduler; the caller sweeps by hand
        self.scheduler: BackgroundScheduler | None = None
        self.server: RunningServer | None = None
        self.app: App | None = None
        self.services: BotServices | None = None
        self.driver: SlackDriver | None = None

    def start(self) -> Self:
        self.slack.start()
        settings = Settings(
            bot_token=self.token,
            signing_secret=self.signing_secret,
            slack_api_url=self.slack.base_url,
            admins=self.admins,
            port=0,
            reminders=self.reminders,
            deployer_secrets=self.ctx.deployer_secrets,
            deploy_stuck_after=self.ctx.deploy_stuck_after,
            deploy_poll_seconds=self.ctx.deploy_poll_every.total_seconds(),
        )
        self.app, self.services = build_app(settings, self.ctx)
        self.server = start_http(
            wsgi_app(self.app, self.ctx, self.services.deliverer, self.services.health),
            threads=self.http_threads,
        )
        if self.sweep_seconds is not None:
            self.scheduler = start_scheduler(
                self.services.sweeper,
                self.sweep_seconds,
                self.services.follower,
                self.sweep_seconds,
                deliverer=self.services.deliverer,
                deliver_every_seconds=self.sweep_seconds,
            )
            self.services.health.watch_scheduler(self.scheduler)
        self.driver = SlackDriver(
            f"{self.server.url}/slack/events", self.signing_secret, web_api=self.slack
        )
        return self

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        if self.server is not None:
            self.server.stop()
        if self.services is not None:
            finish_listeners(self.services)
        self.slack.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
