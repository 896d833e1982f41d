"""Running listeners: the ack goes back to Slack at once, the work runs on a pool after it.

Bolt is set to process_before_response=True, so it calls the function below in the HTTP
request's own thread and answers Slack when it returns. Most listeners acknowledge first: the
ack happens right there, in the request's thread, and the listener runs on a pool. A modal
submission must answer with its errors, so it runs on the pool and the request returns as soon
as it calls ack(). Either way Slack's 3-second limit never waits behind other requests' work,
and nothing polls. Whatever a listener raises goes to the single error handler, never back into
Bolt.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import observe
from bot.errors import handle_error
from bot.grammar import GrammarError
from commands.errors import AlreadyApplied, DomainError

Listener = Callable[[Ack, dict[str, Any], dict[str, Any], WebClient, Any], None]

# Slack gives 3 s; past this the request is acknowledged empty and the listener goes on.
ACK_DEADLINE_SECONDS = 2.5
HEAD_START_SECONDS = 0.002


class Dispatcher:
    # The work after the ack is mostly Python (SQL rows to objects, Block Kit to JSON) and
    # Python runs one thread at a time: 32 threads working at once under 16 concurrent
    # requests took turns on the GIL so unevenly that some requests waited seconds for their
    # follow-up, and the HTTP threads' acks queued behind them (docs/PERFORMANCE.md). A few
    # workers take requests in turn; the rest wait in the pool's queue, in order.
    def __init__(self, workers: int = 4) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listener")

    def __call__(self, listener: Listener, *, ack_first: bool = True) -> Callable[..., None]:
        """`ack_first`: acknowledge empty at once (commands, buttons, events); else wait for
        the listener's own ack() (modal submissions answer with errors)."""
        pool = self.pool

        def run(
            ack: Ack,
            body: dict[str, Any],
            payload: dict[str, Any],
            client: WebClient,
            context: dict[str, Any],
            respond: Callable[..., Any] | None = None,
        ) -> None:
            started = time.perf_counter()
            if ack_first:
                # Slack's answer leaves when this function returns, so nothing else happens
                # here: reading who asked what, the request id, the ack metric and the log
                # line all wait for the pool, after the response is on its way.
                ack()
                acked_at = time.perf_counter()
                pool.submit(
                    contextvars.copy_context().run,
                    follow_up,
                    (started, acked_at, threading.current_thread().name),
                    body,
                    payload,
                    client,
                    context,
                    respond,
                )
                return
            request = observe.of_slack(body, started)
            with observe.working_for(request):
                answer_from_listener(request, ack, body, payload, client, context, respond)

        def follow_up(
            acked: tuple[float, float, str],
            body: dict[str, Any],
            payload: dict[str, Any],
            client: WebClient,
            context: dict[str, Any],
            respond: Callable[..., Any] | None,
        ) -> None:
            # Let the request's thread send the ack before this work takes the GIL.
            time.sleep(HEAD_START_SECONDS)
            started, acked_at, acked_on = acked
            request = observe.of_slack(body, started)
            with observe.working_for(request):
                observe.acked(request, acked_at, acked_on)
                work(request, _nothing_left_to_send, body, payload, client, context, respond)

        def answer_from_listener(
            request: observe.Request,
            ack: Ack,
            body: dict[str, Any],
            payload: dict[str, Any],
            client: WebClient,
            context: dict[str, Any],
            respond: Callable[..., Any] | None,
        ) -> None:
            """A modal submission: the request waits for the listener's own ack() (its
            errors), up to the deadline."""
            acked = threading.Event()

            def ack_and_release(*args: Any, **kwargs: Any) -> None:
                ack(*args, **kwargs)
                observe.acked(request)
                acked.set()

            def on_pool() -> None:
                try:
                    work(request, ack_and_release, body, payload, client, context, respond)
                finally:
                    acked.set()

            # The work carries the request (its id) to the pool thread, for its log lines.
            pool.submit(contextvars.copy_context().run, on_pool)
            if not acked.wait(ACK_DEADLINE_SECONDS):
                ack()  # the listener is slow to answer: Slack still gets its 200 in time
                observe.acked(request)

        def work(
            request: observe.Request,
            answer: Callable[..., Any],
            body: dict[str, Any],
            payload: dict[str, Any],
            client: WebClient,
            context: dict[str, Any],
            respond: Callable[..., Any] | None,
        ) -> None:
            try:
                listener(answer, body, payload, client, respond)  # type: ignore[arg-type]
            except Exception as error:
                request.outcome = _outcome_of(error)
                if request.ack_ms is None:
                    answer()
                handle_error(error, body, client, context, respond)
            finally:
                observe.finish(request)

        run.__name__ = getattr(listener, "__name__", "listener")
        return run

    def finish(self) -> None:
        """Wait for listeners still working after their ack (a graceful stop)."""
        self.pool.shutdown(wait=True)


def _outcome_of(error: Exception) -> str:
    if isinstance(error, AlreadyApplied):
        return observe.ALREADY_APPLIED
    if isinstance(error, GrammarError | DomainError):
        return observe.REFUSED
    return observe.ERROR


def _nothing_left_to_send(*args: Any, **kwargs: Any) -> None:
    """The listener's own ack() once Slack already has its answer."""
