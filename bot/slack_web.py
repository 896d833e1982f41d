"""The outbound Slack Web API client: configurable base URL, retries on 429, 5xx and drops."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)


def make_web_client(token: str, base_url: str, *, timeout: int = 10) -> WebClient:
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    # The default list already retries connection errors; add 429 (honours Retry-After) and 5xx.
    client.retry_handlers.extend(
        [RateLimitErrorRetryHandler(max_retry_count=3), ServerErrorRetryHandler(max_retry_count=2)]
    )
    return client
