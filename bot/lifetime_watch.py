"""The scheduled LifeTime watch in the serving process: poll, then deliver what it recorded.

The domain (what LifeTime says, what is worth telling, back-off) is commands.lifetime_watch.
Everything the watch tells Slack is recorded in the outbox with the observation (the
suggestion message, the owners' evidence DMs, the living message's new revision) and sent by
the Deliverer right after; what fails is sent again by the outbox sweep.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.delivery import Deliverer
from commands.context import ServiceContext
from commands.lifetime_watch import LifeTimeWatch, Suggestion

log = logging.getLogger(__name__)


class LifeTimeWatcher:
    def __init__(self, ctx: ServiceContext, deliverer: Deliverer, every: timedelta) -> None:
        self.ctx = ctx
        self.deliverer = deliverer
        self.watch = LifeTimeWatch(ctx, every)

    def run(self) -> list[Suggestion]:
        """One round: ask LifeTime, store what it says, deliver what that recorded.

        Returns the changes found this round (each is found, and told, once)."""
        report = self.watch.poll()
        for work in report.works:  # evidence on the items and the owners' DMs: the fast path
            self.deliverer.deliver(work)
        if report.suggestions:
            self.deliverer.deliver_unattached()
        return report.suggestions

    def run_safely(self) -> None:
        """The scheduled job: a failed round is logged and the next one tries again."""
        try:
            self.run()
        except Exception:
            log.exception("LifeTime watch round failed")

    def problems(self) -> dict[str, str]:
        return self.watch.problems()
