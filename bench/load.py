"""Signed requests from worker threads, timed to the ack and to the follow-up at the fake Web API.

Each worker runs a closed loop: send one request, read the ack (the HTTP response to Slack), wait
for the work it causes to reach the fake Web API (the response_url post for `status` and `list`,
the `chat.update` of the living message for a Merged click), then send the next. Concurrency N is
N such workers. Counts and time are bounded.
"""

from __future__ import annotations

import http.client
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from standin.slack_client import Reply, SlackDriver
from standin.web_api import FakeSlackWebApi, RecordedCall

KINDS = ("status", "merged", "list")  # the heaviest last: its heap growth and GC stay out
READER = "U0READER"
INCIDENT = "C0INCIDENT"
Key = tuple[str, ...]


@dataclass(frozen=True)
class Click:
    """A Merged button on a living message, as found in the message the fake holds."""

    ref: str
    module: str
    action_id: str
    value: str
    channel: str
    ts: str
    user: str


@dataclass(frozen=True)
class Sample:
    ack: float | None  # seconds from sending to the HTTP response
    follow_up: float | None  # seconds from sending to the follow-up's arrival at the fake
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Cell:
    server: str
    kind: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = math.nan  # CPU seconds the server process used during the cell
    # CPU seconds the same process uses when idle (its event loop, scheduled jobs) over the
    # cell's length: not the requests' cost, and large beside the floor's when the loop waits.
    idle_cpu: float = 0.0

    @property
    def cpu_per_request(self) -> float:
        if not self.samples:
            return math.nan
        return max(self.server_cpu - self.idle_cpu, 0.0) / len(self.samples)

    @property
    def acks(self) -> list[float]:
        return [s.ack for s in self.samples if s.ok and s.ack is not None]

    @property
    def follow_ups(self) -> list[float]:
        return [s.follow_up for s in self.samples if s.ok and s.follow_up is not None]

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error is not None]

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.seconds if self.seconds > 0 else math.nan


@dataclass(frozen=True)
class Arrival:
    at: float
    ok: bool
    detail: str


class FollowUps:
    """Collects follow-ups arriving at the fake (its `on_call` hook) and lets workers wait."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._arrivals: dict[Key, list[Arrival]] = {}

    def on_call(self, call: RecordedCall) -> None:
        if call.method == "response_url":
            text = str(call.params.get("text") or "")
            ok = call.status == 200 and not text.startswith(":warning:")
            key: Key = ("response_url", str(call.params.get("response_url_id")))
            arrival = Arrival(call.at, ok, text[:160])
        elif call.method == "chat.update":
            key = ("chat.update", str(call.params.get("channel")), str(call.params.get("ts")))
            arrival = Arrival(call.at, call.ok, str(call.response.get("error") or ""))
        else:
            return
        with self._cond:
            self._arrivals.setdefault(key, []).append(arrival)
            self._cond.notify_all()

    def wait(self, keys: Sequence[Key], after: float, timeout: float) -> Arrival | None:
        """The first arrival on any of `keys` at or after `after`, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    arrival
                    for key in keys
                    for arrival in self._arrivals.get(key, [])
                    if arrival.at >= after
                ]
                if found:
                    return min(found, key=lambda arrival: arrival.at)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)


def _url_id(reply: Reply) -> str:
    return str(reply.sent.get("response_url", "")).rsplit("/", 1)[-1]


@dataclass
class Load:
    """Sends the benchmark's requests to one server; `follow_ups=None` waits for acks only."""

    events_url: str
    signing_secret: str
    fake: FakeSlackWebApi
    applications: Sequence[str]
    follow_ups: FollowUps | None
    timeout: float = 10.0  # for the HTTP request
    follow_up_timeout: float = 30.0
    _action_ts: Iterator[int] = field(default_factory=itertools.count)

    def driver(self) -> SlackDriver:
        return SlackDriver(
            self.events_url, self.signing_secret, web_api=self.fake, timeout=self.timeout
        )

    def run(
        self,
        server: str,
        kind: str,
        concurrency: int,
        count: int,
        clicks: Sequence[Click] = (),
        time_limit: float = 300.0,
        think: float = 0.0,
    ) -> Cell:
        cell = Cell(server, kind, concurrency)
        if kind == "merged":
            count = min(count, len(clicks))  # each click once
        indices = iter(range(count))
        lock = threading.Lock()
        started = time.monotonic()
        deadline = started + time_limit

        def worker() -> None:
            driver = self.driver()
            while time.monotonic() < deadline:
                with lock:
                    index = next(indices, None)
                if index is None:
                    return
                cell.samples.append(self.one(driver, kind, index, clicks))
                if think:
                    time.sleep(think)

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench") as pool:
            for future in [pool.submit(worker) for _ in range(concurrency)]:
                future.result()
        cell.seconds = time.monotonic() - started
        return cell

    def one(self, driver: SlackDriver, kind: str, index: int, clicks: Sequence[Click]) -> Sample:
        send = self._sender(driver, kind, index, clicks)
        try:
            reply, keys = send()
        except (OSError, http.client.HTTPException) as error:
            return Sample(None, None, f"{type(error).__name__}: {error}")
        sent_at = time.monotonic() - reply.elapsed
        if reply.status != 200:
            return Sample(reply.elapsed, None, f"HTTP {reply.status}: {reply.body[:120]}")
        if self.follow_ups is None:
            return Sample(reply.elapsed, None)
        arrival = self.follow_ups.wait(keys, sent_at, self.follow_up_timeout)
        if arrival is None:
            return Sample(reply.elapsed, None, f"no follow-up within {self.follow_up_timeout:.0f}s")
        if not arrival.ok:
            return Sample(reply.elapsed, arrival.at - sent_at, f"error reply: {arrival.detail}")
        return Sample(reply.elapsed, arrival.at - sent_at)

    def _sender(
        self, driver: SlackDriver, kind: str, index: int, clicks: Sequence[Click]
    ) -> Callable[[], tuple[Reply, list[Key]]]:
        def command(text: str) -> tuple[Reply, list[Key]]:
            reply = driver.slash_command(READER, text, channel_id=INCIDENT)
            return reply, [("response_url", _url_id(reply))]

        def click() -> tuple[Reply, list[Key]]:
            chosen = clicks[index]
            action_ts = f"{time.time():.0f}.{next(self._action_ts):06d}"
            reply = driver.block_action(
                chosen.user,
                chosen.action_id,
                chosen.value,
                chosen.channel,
                chosen.ts,
                action_ts=action_ts,
            )
            keys = [("chat.update", chosen.channel, chosen.ts), ("response_url", _url_id(reply))]
            return reply, keys

        if kind == "status":
            application = self.applications[(index * 7919) % len(self.applications)]
            return lambda: command(f"status {application}")
        if kind == "list":
            return lambda: command("list")
        if kind == "merged":
            return click
        raise ValueError(f"unknown request kind {kind!r}")
