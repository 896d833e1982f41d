"""A graceful stop: on SIGTERM or SIGINT take no new requests, finish what is in flight and its
deliveries within a grace period, stop the scheduler, and exit 0.

What is not delivered by then stays in the outbox; its claims are given back so the next
process (or another replica) sends it at its next sweep instead of waiting out a lease.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.services import BotServices
from commands import outbox

log = logging.getLogger(__name__)


def wait_for_signal() -> int:
    """Block until SIGTERM or SIGINT; return the signal's number."""
    received: list[int] = []
    stop = threading.Event()

    def note(signum: int, _: Any) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, note)
    while not stop.wait(0.5):
        pass
    return received[0]


def drain(
    services: BotServices,
    stop_accepting: Callable[[], None],
    scheduler: Any,
    grace: float,
) -> bool:
    """Stop taking requests, then wait up to `grace` seconds for listeners and deliveries.

    Returns True when everything in flight finished within the grace period.
    """
    deadline = time.monotonic() + grace
    stop_accepting()
    scheduler.shutdown(wait=False)  # no new sweeps; a running one is waited for below
    listeners = threading.Thread(target=services.dispatch.finish, name="drain", daemon=True)
    listeners.start()
    listeners.join(max(deadline - time.monotonic(), 0))
    while services.deliverer.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    finished = not listeners.is_alive() and not services.deliverer.busy
    services.deliverer.stop()
    worker = services.ctx.worker
    if worker is not None:
        try:
            outbox.release_all(services.ctx, worker)
        except Exception:
            log.exception("could not give back outbox claims: they free when their lease ends")
    return finished
