"""Which deployer an application uses: its catalog entry, with secrets from the environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from commands.deployers.ledger import LedgerDeployer
from commands.deployers.port import Deployer, DeployRefused
from commands.deployers.webhook import WebhookDeployer

KINDS = ("ledger", "lifetime", "webhook")


@dataclass(frozen=True)
class DeployerSecrets:
    """Never in the catalog: tokens and keys come from the environment."""

    lifetime_token: str | None = None
    webhook_secret: str | None = None
    public_url: str | None = None  # where the bot is reachable, for webhook callbacks


def deployer_for(kind: str, settings: str | dict[str, Any], secrets: DeployerSecrets) -> Deployer:
    options: dict[str, Any] = json.loads(settings) if isinstance(settings, str) else settings
    if kind == "ledger":
        return LedgerDeployer()
    if kind == "webhook":
        if not secrets.webhook_secret:
            raise DeployRefused(
                "DEPLOY_WEBHOOK_SECRET is not set: the bot cannot sign the deploy webhook"
            )
        callback = (
            f"{secrets.public_url.rstrip('/')}/deployments/callback" if secrets.public_url else None
        )
        return WebhookDeployer(str(options["url"]), secrets.webhook_secret, callback)
    if kind == "lifetime":
        from commands.deployers.lifetime import LifeTimeDeployer

        if not secrets.lifetime_token:
            raise DeployRefused(
                "LIFETIME_TOKEN is not set: the bot needs a LifeTime service account token"
            )
        return LifeTimeDeployer.from_settings(options, secrets.lifetime_token)
    raise DeployRefused(f"unknown deployer '{kind}': use one of {', '.join(KINDS)}")
