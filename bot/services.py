"""What every listener needs: the service context, who is an admin, the outbox deliverer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery import Deliverer
from bot.deployments import DeploymentFollower
from bot.dispatch import Dispatcher
from bot.health import Health
from bot.lifetime_watch import LifeTimeWatcher
from bot.reminders import Sweeper
from commands.actors import Actor
from commands.context import ServiceContext


@dataclass
class BotServices:
    ctx: ServiceContext
    admins: frozenset[str]
    deliverer: Deliverer
    sweeper: Sweeper
    follower: DeploymentFollower
    dispatch: Dispatcher
    health: Health
    watcher: LifeTimeWatcher | None = None

    def actor(self, user_id: str) -> Actor:
        return Actor(user_id=user_id, is_admin=user_id in self.admins)
