"""Following running deployments from the serving process; what they do reaches Slack through
the outbox (log lines, changes of step, regression warnings)."""

from __future__ import annotations

import logging

from bot.delivery import Deliverer
from bot.reminders import worker_name
from commands import deployments, regressions
from commands.context import ServiceContext
from commands.deployments import DeploymentNews
from commands.regressions import RegressionWarning

log = logging.getLogger(__name__)


class DeploymentFollower:
    def __init__(self, ctx: ServiceContext, deliverer: Deliverer, *, worker: str | None = None):
        self.ctx = ctx
        self.deliverer = deliverer
        self.worker = worker or worker_name()

    def follow(self) -> list[DeploymentNews]:
        news = deployments.advance(self.ctx, self.worker)
        for item in news:
            self.deliverer.deliver(item.work)
        return news

    def watch_safely(self) -> None:
        """The scheduled regression watch; failures are logged, the next pass tries again."""
        try:
            warn_regressions(self.ctx, self.deliverer)
        except Exception:
            log.exception("the regression watch failed")

    def follow_safely(self) -> None:
        """The scheduled job: a failure is logged and the next pass tries again."""
        try:
            self.follow()
        except Exception:
            log.exception("following deployments failed")


def warn_regressions(ctx: ServiceContext, deliverer: Deliverer) -> list[RegressionWarning]:
    """Tell the hotfix's thread and owners about a plan that would undo the fix."""
    warnings = regressions.watch(ctx)
    for warning in warnings:
        deliverer.deliver(warning.work)
    return warnings
