"""The webhook deployer: a signed JSON event triggers a CI/CD pipeline, which reports back.

Both directions are signed with HMAC-SHA256 over `<timestamp>.<body>` with a shared secret
(`DEPLOY_WEBHOOK_SECRET`), in the headers `X-Hotfix-Timestamp` and `X-Hotfix-Signature:
sha256=<hex>`. A callback older than five minutes, or one already seen, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from commands.deployers.port import (
    ABORTED,
    FINISHED_SUCCESSFUL,
    FINISHED_WITH_ERRORS,
    FINISHED_WITH_WARNINGS,
    NEEDS_USER_INTERVENTION,
    RUNNING,
    DeployerUnavailable,
    DeployRefused,
    DeployRequest,
    Progress,
    RunningVersion,
)

TIMESTAMP_HEADER = "X-Hotfix-Timestamp"
SIGNATURE_HEADER = "X-Hotfix-Signature"
MAX_AGE_SECONDS = 300

CALLBACK_STATUSES = {
    "running": RUNNING,
    "succeeded": FINISHED_SUCCESSFUL,
    "succeeded_with_warnings": FINISHED_WITH_WARNINGS,
    "failed": FINISHED_WITH_ERRORS,
    "aborted": ABORTED,
    "needs_user_intervention": NEEDS_USER_INTERVENTION,
}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


class BadSignature(Exception):
    pass


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str:
    """Check a callback's signature and age; return its signature (the replay key)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit() or not given:
        raise BadSignature("missing signature")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise BadSignature("stale timestamp")
    if not hmac.compare_digest(given, signature(secret, timestamp, body)):
        raise BadSignature("bad signature")
    return given


@dataclass(frozen=True)
class CallbackResult:
    deployment_id: int
    status: str
    info: str
    log: tuple[str, ...]


def parse_callback(body: bytes) -> CallbackResult:
    try:
        data: Any = json.loads(body)
        deployment = str(data["deployment_id"])
        status = CALLBACK_STATUSES[str(data["status"])]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            "expected {deployment_id, status: running|succeeded|succeeded_with_warnings|failed|"
            "aborted|needs_user_intervention, info?, log?: [..]}"
        ) from error
    number = deployment.removeprefix("hfd-")
    if not number.isdigit():
        raise ValueError(f"unknown deployment id {deployment}")
    log = data.get("log") or []
    return CallbackResult(
        int(number), status, str(data.get("info") or ""), tuple(str(line) for line in log)
    )


class WebhookDeployer:
    kind = "webhook"
    immediate = False

    def __init__(
        self, url: str, secret: str, callback_url: str | None, *, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.secret = secret
        self.callback_url = callback_url
        self.timeout = timeout

    def running(self, application: str, environment: str) -> RunningVersion | None:
        return None  # a CI pipeline does not say what runs where: the bot's records do

    def start(self, request: DeployRequest) -> Progress:
        event = {
            "event": "hotfix.deploy",
            "deployment_id": f"hfd-{request.deployment_id}",
            "hotfix": request.hotfix_ref,
            "application": request.application,
            "summary": request.summary,
            "version": request.version,
            "source_environment": request.source_environment,
            "target_environment": request.target_environment,
            "requested_by": request.requested_by,
            "callback_url": self.callback_url,
        }
        body = json.dumps(event, sort_keys=True).encode()
        try:
            response = requests.post(
                self.url, data=body, headers=signed_headers(self.secret, body), timeout=self.timeout
            )
        except requests.RequestException as error:
            raise DeployerUnavailable(
                f"the deploy webhook {self.url} did not answer: {error}"
            ) from error
        if response.status_code >= 500:
            raise DeployerUnavailable(
                f"the deploy webhook {self.url} answered {response.status_code}: trying again"
            )
        if response.status_code >= 400:
            raise DeployRefused(
                f"the deploy webhook {self.url} refused the deployment "
                f"({response.status_code}): {response.text[:300]}"
            )
        return Progress(
            RUNNING,
            notes=(f"Sent the deployment to {self.url}",),
            external_key=f"hfd-{request.deployment_id}",
        )

    def poll(self, external_key: str) -> Progress | None:
        return None  # results arrive on POST /deployments/callback

    def continue_(self, external_key: str) -> None:
        raise DeployRefused("a webhook deployment is continued in the CI pipeline itself")

    def abort(self, external_key: str) -> None:
        return None  # the bot stops waiting; the pipeline is told nothing it could act on
