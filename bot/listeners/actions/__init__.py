"""Buttons on the living message: one small handler per file."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot import ids
from bot.errors import guarded
from bot.listeners.actions import (
    approve,
    cancel,
    deploy,
    deploy_other_version,
    merged,
    reject,
    skip,
    snooze,
    solve,
    steer_deployment,
)
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    app.action(ids.DEPLOY)(guarded(deploy.handler(services)))
    app.action(ids.DEPLOY_OTHER_VERSION)(guarded(deploy_other_version.handler(services)))
    app.action(ids.CANCEL)(guarded(cancel.handler(services)))
    app.action(ids.APPROVE)(guarded(approve.handler(services)))
    app.action(ids.REJECT)(guarded(reject.handler(services)))
    app.action(ids.MERGED_PATTERN)(guarded(merged.handler(services)))
    app.action(ids.SKIP_PATTERN)(guarded(skip.handler(services)))
    app.action(ids.SOLVE)(guarded(solve.handler(services)))
    app.action(ids.SNOOZE_PATTERN)(guarded(snooze.handler(services)))
    app.action(ids.CONTINUE_DEPLOYMENT)(guarded(steer_deployment.handler(services, "continue")))
    app.action(ids.ABORT_DEPLOYMENT)(guarded(steer_deployment.handler(services, "abort")))
    app.action(ids.RETRY_DEPLOYMENT)(guarded(steer_deployment.handler(services, "retry")))
    app.action("open")(guarded(_acknowledge_link))


def _acknowledge_link(ack: Ack, *_: Any) -> None:
    """A link button still sends an interaction; there is nothing to do but acknowledge it."""
    ack()
