"""The Bolt app, built by a factory from settings and the service context."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot import listeners
from bot.delivery import Deliverer
from bot.deployments import DeploymentFollower
from bot.dispatch import Dispatcher
from bot.errors import handle_error
from bot.health import Health
from bot.lifetime_watch import LifeTimeWatcher
from bot.metrics import count_deployment
from bot.reminders import Sweeper, worker_name
from bot.services import BotServices
from bot.settings import Settings
from bot.slack_web import make_web_client
from commands.context import ServiceContext


def build_app(
    settings: Settings, ctx: ServiceContext, client: WebClient | None = None
) -> tuple[App, BotServices]:
    client = client or make_web_client(settings.bot_token, settings.slack_api_url)
    app = App(
        client=client,
        # Acks are answered from the request's thread; the work runs on BotServices.dispatch.
        process_before_response=True,
        signing_secret=settings.signing_secret,
        logger=logging.getLogger("hotfix-bot.bolt"),
    )
    ctx.reminders = settings.reminders
    ctx.deployer_secrets = settings.deployer_secrets
    ctx.deploy_stuck_after = settings.deploy_stuck_after
    ctx.on_deployment_status = count_deployment
    ctx.deploy_poll_every = timedelta(seconds=settings.deploy_poll_seconds)
    ctx.outbox = settings.outbox
    # This process claims its own changes' outbox rows in their transaction and sends them
    # right after the commit.
    ctx.worker = ctx.worker or worker_name()
    deliverer = Deliverer(ctx, client, ctx.worker)
    watcher = LifeTimeWatcher(ctx, deliverer, timedelta(seconds=settings.lifetime_watch_seconds))
    services = BotServices(
        ctx=ctx,
        admins=settings.admins,
        deliverer=deliverer,
        sweeper=Sweeper(ctx, client, deliverer),
        follower=DeploymentFollower(ctx, deliverer),
        dispatch=Dispatcher(settings.listener_threads),
        health=Health(ctx, client),
        watcher=watcher,
    )
    services.health.watch_lifetime(watcher)
    app.middleware(MarkRetries())
    app.error(handle_error)
    listeners.register(app, services)
    return app, services


def finish_listeners(services: BotServices) -> None:
    """Wait for listeners still running after their ack (a graceful stop)."""
    services.dispatch.finish()


class MarkRetries(Middleware):
    """A Slack retry (X-Slack-Retry-Num) of something already applied is dropped quietly.

    A Middleware subclass rather than a function: Bolt calls `process` as it is, where a
    function middleware first gets every argument Bolt could inject built for it (`say`,
    `respond`, the payload's views...), about as much work as the rest of this middleware chain,
    on every request before its ack (slack_bolt/middleware/custom_middleware.py)."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        req.context["is_retry"] = bool(req.headers.get("x-slack-retry-num"))
        return next()
