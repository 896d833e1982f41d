"""Slack allows about one message per second per channel: space posts to the same channel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ChannelPacer:
    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        with self._lock:
            now = self.clock()
            ready = self._last.get(channel, now - self.interval) + self.interval
            self._last[channel] = max(now, ready)
        if ready > now:
            self.sleep(ready - now)
