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


def missing_secrets(kinds: dict[str, list[str]], secrets: DeployerSecrets) -> list[str]:
    """What the environment lacks for the deployers the catalog uses (kind -> applications)."""
    problems = []
    lifetime = kinds.get("lifetime", [])
    if lifetime and not secrets.lifetime_token:
        problems.append(
            f"LIFETIME_TOKEN is not set, and {', '.join(lifetime)} deploy(s) with LifeTime: "
            "set it to a LifeTime service account token"
        )
    webhook = kinds.get("webhook", [])
    if webhook and not secrets.webhook_secret:
        problems.append(
            f"DEPLOY_WEBHOOK_SECRET is not set, and {', '.join(webhook)} deploy(s) with a "
            "webhook: set a long random secret shared with the pipeline"
        )
    if webhook and not secrets.public_url:
        problems.append(
            f"PUBLIC_URL is not set, and {', '.join(webhook)} deploy(s) with a webhook: set "
            "the https address where the pipeline calls the bot back"
        )
    return problems


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
