"""Buttons on the living message: one small handler per file."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot import ids
from bot.listeners.actions import (
    approve,
    cancel,
    deploy,
    deploy_other_version,
    lifetime_change,
    mark_deploy_failed,
    merged,
    reject,
    skip,
    snooze,
    solve,
    steer_deployment,
)
from bot.services import BotServices


def register(app: App, services: BotServices) -> None:
    # Bolt tries each action listener's matcher in registration order before the ack, and the
    # checklist's buttons are clicked once per module and environment: they come first. The
    # action ids are distinct, so the order changes nothing else.
    app.action(ids.MERGED_PATTERN)(services.dispatch(merged.handler(services)))
    app.action(ids.SKIP_PATTERN)(services.dispatch(skip.handler(services)))
    app.action(ids.DEPLOY)(services.dispatch(deploy.handler(services)))
    app.action(ids.DEPLOY_OTHER_VERSION)(services.dispatch(deploy_other_version.handler(services)))
    app.action(ids.CANCEL)(services.dispatch(cancel.handler(services)))
    app.action(ids.APPROVE)(services.dispatch(approve.handler(services)))
    app.action(ids.REJECT)(services.dispatch(reject.handler(services)))
    app.action(ids.SOLVE)(services.dispatch(solve.handler(services)))
    app.action(ids.SNOOZE_PATTERN)(services.dispatch(snooze.handler(services)))
    app.action(ids.CONTINUE_DEPLOYMENT)(
        services.dispatch(steer_deployment.handler(services, "continue"))
    )
    app.action(ids.ABORT_DEPLOYMENT)(services.dispatch(steer_deployment.handler(services, "abort")))
    app.action(ids.RETRY_DEPLOYMENT)(services.dispatch(steer_deployment.handler(services, "retry")))
    app.action(ids.MARK_DEPLOY_FAILED)(services.dispatch(mark_deploy_failed.handler(services)))
    app.action(ids.OPEN_FROM_CHANGE)(services.dispatch(lifetime_change.open_handler(services)))
    app.action(ids.NOT_A_HOTFIX)(services.dispatch(lifetime_change.dismiss_handler(services)))
    app.action("open")(services.dispatch(_acknowledge_link))


def _acknowledge_link(ack: Ack, *_: Any) -> None:
    """A link button still sends an interaction; there is nothing to do but acknowledge it."""
    ack()
