"""Following running deployments from the serving process, and telling Slack what they do."""

from __future__ import annotations

import logging

from bot import views
from bot.publisher import Publisher
from bot.reminders import worker_name
from bot.views.text import escape, truncate
from commands import deployments, regressions
from commands.context import ServiceContext
from commands.deployments import DeploymentNews
from commands.regressions import RegressionWarning

log = logging.getLogger(__name__)
MAX_LOG_LINES_PER_POST = 20


class DeploymentFollower:
    def __init__(self, ctx: ServiceContext, publisher: Publisher, *, worker: str | None = None):
        self.ctx = ctx
        self.publisher = publisher
        self.worker = worker or worker_name()

    def follow(self) -> list[DeploymentNews]:
        news = deployments.advance(self.ctx, self.worker)
        for item in news:
            tell(self.publisher, item)
        return news

    def watch_safely(self) -> None:
        """The scheduled regression watch; failures are logged, the next pass tries again."""
        try:
            warn_regressions(self.ctx, self.publisher)
        except Exception:
            log.exception("the regression watch failed")

    def follow_safely(self) -> None:
        """The scheduled job: a failure is logged and the next pass tries again."""
        try:
            self.follow()
        except Exception:
            log.exception("following deployments failed")


def warn_regressions(ctx: ServiceContext, publisher: Publisher) -> list[RegressionWarning]:
    """Tell the hotfix's thread and owners about a plan that would undo the fix."""
    warnings = regressions.watch(ctx)
    for warning in warnings:
        text = views.regression_warning(
            warning.hotfix, warning.plan_key, warning.source_environment, warning.pending_modules
        )
        publisher.tell_thread(warning.hotfix, text)
        publisher.tell_owners(warning.hotfix, text)
    return warnings


def tell(publisher: Publisher, news: DeploymentNews) -> None:
    """Log lines go to the thread (a few per post); a change of step updates the message."""
    if news.log:
        lines = [f"`{escape(truncate(line, 300))}`" for line in news.log]
        for start in range(0, len(lines), MAX_LOG_LINES_PER_POST):
            chunk = lines[start : start + MAX_LOG_LINES_PER_POST]
            publisher.tell_thread(news.hotfix, "📜 " + "\n".join(chunk))
    publisher.publish(news.hotfix.ref, news.event)
