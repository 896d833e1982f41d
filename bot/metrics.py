"""Prometheus metrics: what the process counts as it works, and what the database holds.

Counters and histograms live in prometheus_client's default registry, once per process.
Figures that the database knows better than any one replica (red hotfixes) are read at scrape
time by `DatabaseCollector`, through a commands/ query.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from commands import health
from commands.context import ServiceContext

# Slack wants the ack within 3 s; the buckets are finer below that line.
_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0)
_WORK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "hotfix_bot_requests",
    "Handled Slack requests (and scheduled job runs) by kind and outcome",
    ["kind", "outcome"],
)
ACK_SECONDS = Histogram(
    "hotfix_bot_ack_seconds",
    "From a Slack request reaching its listener to its acknowledgement",
    ["kind"],
    buckets=_ACK_BUCKETS,
)
FOLLOW_UP_SECONDS = Histogram(
    "hotfix_bot_follow_up_seconds",
    "From a Slack request reaching its listener to the end of its work after the ack",
    ["kind"],
    buckets=_WORK_BUCKETS,
)
SLACK_CALLS = Counter(
    "hotfix_bot_slack_api_calls",
    "Slack Web API HTTP attempts by method and status (ok, Slack's error code, http_<code>, "
    "unreachable); a retried call counts each attempt",
    ["method", "status"],
)
SLACK_RETRIES = Counter(
    "hotfix_bot_slack_api_retries",
    "Slack Web API attempts that were retries (rate limits, server errors, dropped connections)",
    ["method"],
)
REMINDERS = Counter(
    "hotfix_bot_reminders",
    "Reminder nudges by result: sent, failed, deferred (outside working hours), escalated",
    ["result"],
)
DEPLOYMENTS = Counter(
    "hotfix_bot_deployments",
    "Deployments reaching a status, by deployer (ledger, lifetime, webhook) and status",
    ["deployer", "status"],
)


def count_deployment(deployer: str, status: str) -> None:
    DEPLOYMENTS.labels(deployer, status).inc()


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes; a failed read leaves them out."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        try:
            yield from database_gauges(self.ctx)
        except Exception:
            # The database being down shows in /readyz and in the scrape's missing series.
            return


def database_gauges(ctx: ServiceContext) -> Iterator[Metric]:
    """Every gauge the database answers: red hotfixes, and what the outbox still owes Slack."""
    red = GaugeMetricFamily(
        "hotfix_bot_red_hotfixes", "Unsolved hotfixes by severity", labels=["severity"]
    )
    oldest = GaugeMetricFamily(
        "hotfix_bot_oldest_red_hotfix_age_seconds",
        "Age of the oldest unsolved hotfix of each severity (0 when none)",
        labels=["severity"],
    )
    for figure in health.red_hotfixes_by_severity(ctx):
        red.add_metric([figure.severity], figure.count)
        oldest.add_metric([figure.severity], figure.oldest_age_seconds)
    yield red
    yield oldest
    backlog = health.outbox_backlog(ctx)
    undelivered = GaugeMetricFamily(
        "hotfix_bot_outbox_undelivered",
        "What Slack must still be shown: living messages behind their revision, thread lines "
        "and direct messages not delivered yet",
        labels=["kind"],
    )
    undelivered.add_metric(["living_message"], backlog.living_messages)
    undelivered.add_metric(["line"], backlog.lines)
    yield undelivered
    yield GaugeMetricFamily(
        "hotfix_bot_outbox_oldest_undelivered_age_seconds",
        "Age of the oldest thread line or direct message not delivered yet (0 when none)",
        value=backlog.oldest_line_age_seconds,
    )


class _ProcessMetrics:
    """The default registry's metrics, as one collector of a per-app registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry_for(ctx: ServiceContext) -> CollectorRegistry:
    """What `/metrics` shows for one app: the process's metrics and its database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(ctx))
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST
