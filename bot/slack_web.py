"""The outbound Slack Web API client: configurable base URL, retries on 429, 5xx and drops.

Every HTTP attempt is counted and logged by a first retry handler that never retries: the SDK
asks its retry handlers about every response and every connection error, in order, and Bolt
copies this client's handler list into the client it makes for each request, so listeners'
calls are observed too.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot import metrics

log = logging.getLogger("hotfix-bot.slack")


def make_web_client(token: str, base_url: str, *, timeout: int = 10) -> WebClient:
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    # The default list already retries connection errors; add 429 (honours Retry-After) and 5xx.
    client.retry_handlers[:] = [
        ObservingHandler(),
        *client.retry_handlers,
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]
    return client


class ObservingHandler(RetryHandler):
    """Counts and logs each attempt (method, status, whether it was a retry); never retries."""

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = urlsplit(request.url).path.rsplit("/", 1)[-1] or "unknown"
        status = _status(response, error)
        metrics.SLACK_CALLS.labels(method, status).inc()
        if state.current_attempt:
            metrics.SLACK_RETRIES.labels(method).inc()
        level = logging.INFO if status == "ok" else logging.WARNING
        # Only the method and the outcome: never the URL's query, the body or the headers.
        log.log(level, "slack %s -> %s (attempt %d)", method, status, state.current_attempt + 1)
        return False


def _status(response: HttpResponse | None, error: Exception | None) -> str:
    if response is None:
        return "unreachable"
    if response.status_code != 200:
        return f"http_{response.status_code}"
    body = response.body or {}
    if body.get("ok"):
        return "ok"
    # Slack's error codes are a closed list per method, so they are fit for a label.
    return str(body.get("error") or "not_ok")[:60]
