"""SQL statements per request, counted in-process with a `before_cursor_execute` listener.

The app is built by `standin.stack.LocalSlackStack` (the same factory as `hotfix-bot serve`) over
an engine the listener is attached to; each request is sent signed over HTTP, and counting ends
once its work has reached the fake Web API and the database has been quiet for a moment.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.clicks import merged_buttons
from bench.load import INCIDENT, READER
from bench.seed import RedHotfix
from commands import outbox
from commands.context import ServiceContext
from standin.slack_client import SlackDriver
from standin.stack import LocalSlackStack
from standin.web_api import FakeSlackWebApi, RecordedCall
from storage.setup import open_database

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass(frozen=True)
class StatementCount:
    statements: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.statements)

    @property
    def queries(self) -> int:
        """Statements other than transaction control (SQLite's explicit BEGIN)."""
        return sum(1 for verb in self.verbs() if verb not in TRANSACTION_CONTROL)

    def verbs(self) -> list[str]:
        return [(s.split(None, 1) or [""])[0].upper() for s in self.statements]

    def by_verb(self) -> Counter[str]:
        return Counter(self.verbs())


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        with self._lock:
            self._statements.append(statement)

    def __len__(self) -> int:
        with self._lock:
            return len(self._statements)

    def take(self) -> tuple[str, ...]:
        with self._lock:
            taken, self._statements = tuple(self._statements), []
        return taken

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        seen = len(self)
        while time.monotonic() < deadline:
            time.sleep(quiet)
            if len(self) == seen:
                return
            seen = len(self)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _url_id(fields: dict[str, Any]) -> str:
    return str(fields.get("response_url", "")).rsplit("/", 1)[-1]


@dataclass
class _InProcess:
    stack: LocalSlackStack
    counter: StatementCounter
    timeout: float

    @property
    def driver(self) -> SlackDriver:
        assert self.stack.driver is not None
        return self.stack.driver

    @property
    def slack(self) -> FakeSlackWebApi:
        return self.stack.slack

    def measure(self, send: Callable[[], None]) -> StatementCount:
        self.counter.wait_quiet()
        self.counter.take()
        send()
        self.counter.wait_quiet()
        return StatementCount(self.counter.take())

    def command(self, text: str) -> None:
        reply = self.driver.slash_command(READER, text, channel_id=INCIDENT)
        url_id = _url_id(reply.sent)
        self._wait("response_url", lambda c: c.params.get("response_url_id") == url_id)

    def click_merged(self, hotfix: RedHotfix) -> Callable[[], None]:
        """Post the living message first (not counted); the returned step clicks Merged."""
        services = self.stack.services
        assert services is not None
        services.deliverer.deliver(outbox.show(services.ctx, hotfix.ref))
        message = [m for m in self.slack.messages(hotfix.home_channel) if not m.is_reply][-1]
        button = merged_buttons(message.blocks)[hotfix.modules[0]]

        def click() -> None:
            self.driver.block_action(
                hotfix.owner,
                str(button["action_id"]),
                str(button["value"]),
                hotfix.home_channel,
                message.ts,
            )
            self._wait("chat.update", lambda c: c.params.get("ts") == message.ts)
            self._wait("chat.postMessage", lambda c: c.params.get("thread_ts") == message.ts)

        return click

    def _wait(self, method: str, predicate: Callable[[RecordedCall], bool]) -> None:
        self.slack.wait_for(method, predicate, timeout=self.timeout)


def count_statements(
    url: str, hotfixes: Sequence[RedHotfix], timeout: float = 15.0
) -> dict[str, StatementCount]:
    """Statements for one `status <app>`, one `list` and one Merged click, after a warm-up of
    each. `hotfixes`: two propagating hotfixes nobody else clicks (warm-up, measured)."""
    warm, measured = hotfixes
    database = open_database(url)
    counter = StatementCounter(database.engine)
    try:
        with LocalSlackStack(ServiceContext(database)) as stack:
            run = _InProcess(stack, counter, timeout)
            run.command(f"status {warm.application}")
            run.command("list")
            run.click_merged(warm)()
            return {
                "status": run.measure(lambda: run.command(f"status {measured.application}")),
                "list": run.measure(lambda: run.command("list")),
                "merged": run.measure(run.click_merged(measured)),
            }
    finally:
        counter.close()
        database.engine.dispose()
