"""The request a piece of work is for, carried by a context variable.

A Slack request is acknowledged in the HTTP (or Socket Mode) thread and its work runs on the
listener pool after the ack; the scheduler's jobs run on their own threads. Each carries one
`Request` in a context variable, copied into the pool with the work, so every log line the work
writes (its Slack Web API calls, its deployer calls) names the same request id. When the work
ends, `finish` writes the one line per handled request and feeds the request metrics.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bot import metrics
from bot.ids import ButtonValue, ModalContext
from commands.refs import format_hotfix_ref, looks_like_hotfix_ref, parse_hotfix_ref
from commands.subcommands import Surface, heads, named

log = logging.getLogger("hotfix-bot.requests")

OK, REFUSED, ALREADY_APPLIED, ERROR = "ok", "refused", "already_applied", "error"


@dataclass
class Request:
    kind: str  # command, action, view_submission, event, job
    name: str  # the subcommand, action id, modal callback id, event type or job id
    team: str = ""
    user: str = ""
    channel: str = ""
    hotfix: str = ""
    outcome: str = OK
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.perf_counter)
    ack_ms: float | None = None

    def fields(self) -> dict[str, Any]:
        """What the per-request line carries (also as JSON fields)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "team": self.team,
            "user": self.user,
            "channel": self.channel,
            "hotfix": self.hotfix,
            "outcome": self.outcome,
            "ack_ms": None if self.ack_ms is None else round(self.ack_ms, 1),
        }


_current: ContextVar[Request | None] = ContextVar("hotfix_bot_request", default=None)


def current() -> Request | None:
    return _current.get()


def current_id() -> str:
    request = _current.get()
    return request.id if request is not None else "-"


@contextmanager
def working_for(request: Request) -> Iterator[Request]:
    token = _current.set(request)
    try:
        yield request
    finally:
        _current.reset(token)


def note_hotfix(ref: str) -> None:
    """The hotfix a request turned out to be about (e.g. the one `/hotfix open` created)."""
    request = _current.get()
    if request is not None and not request.hotfix:
        request.hotfix = ref


def note_outcome(outcome: str) -> None:
    """For a listener that answers a refusal itself instead of raising it."""
    request = _current.get()
    if request is not None:
        request.outcome = outcome


def acked(request: Request, at: float | None = None, on: str | None = None) -> None:
    """The request was acknowledged `at` (a `time.perf_counter()` reading; default now) on the
    thread named `on` (default this one). The line is written after the ack, maybe elsewhere:
    it names the thread that answered Slack."""
    if request.ack_ms is None:
        request.ack_ms = ((time.perf_counter() if at is None else at) - request.started) * 1000
        metrics.ACK_SECONDS.labels(request.kind).observe(request.ack_ms / 1000)
        thread = on or threading.current_thread().name
        log.debug(
            "acknowledged %s %s in %.1f ms on %s",
            request.kind,
            request.name,
            request.ack_ms,
            thread,
            extra={"request": {"acked_on": thread}},
        )


def finish(request: Request) -> None:
    """The one line per handled request, and its metrics."""
    elapsed = time.perf_counter() - request.started
    ms = round(elapsed * 1000, 1)
    level = logging.ERROR if request.outcome == ERROR else logging.INFO
    log.log(
        level,
        "handled %s %s team=%s user=%s channel=%s hotfix=%s outcome=%s ms=%s",
        request.kind,
        request.name,
        request.team or "-",
        request.user or "-",
        request.channel or "-",
        request.hotfix or "-",
        request.outcome,
        ms,
        extra={"request": {**request.fields(), "ms": ms}},
    )
    # Counted after the line is written: whoever sees the count can also read the line.
    metrics.REQUESTS.labels(request.kind, request.outcome).inc()
    metrics.FOLLOW_UP_SECONDS.labels(request.kind).observe(elapsed)


def of_slack(body: dict[str, Any], started: float | None = None) -> Request:
    """Who asked what, read from a slash command, block_actions, view_submission or event body.
    `started`: when the request reached its listener (`time.perf_counter()`), if that was
    before this reading (acknowledged requests are read after their ack, on the pool)."""
    try:
        request = _read(body)
    except Exception:
        # A payload shaped unlike any known one is still handled; only its line says less.
        log.debug("could not read who asked what", exc_info=True)
        request = Request(kind="unknown", name="")
    if started is not None:
        request.started = started
    return request


def _read(body: dict[str, Any]) -> Request:
    user = body.get("user")
    team = body.get("team")
    container = body.get("container") or {}
    channel = body.get("channel")
    request = Request(
        kind="event",
        name="",
        team=str((team or {}).get("id", "") if isinstance(team, dict) else body.get("team_id", "")),
        user=str((user or {}).get("id", "") if isinstance(user, dict) else body.get("user_id", "")),
        channel=str(
            (channel or {}).get("id", "")
            if isinstance(channel, dict)
            else body.get("channel_id") or container.get("channel_id", "")
        ),
    )
    if body.get("command"):
        request.kind = "command"
        words = str(body.get("text") or "").split()
        request.name = _subcommand(words)
        request.hotfix = next((w for w in words if looks_like_hotfix_ref(w)), "")
    elif body.get("type") == "block_actions":
        request.kind = "action"
        action = (body.get("actions") or [{}])[0]
        request.name = str(action.get("action_id", "")).split(":")[0]
        request.hotfix = ButtonValue.decode(str(action.get("value") or "")).hotfix
    elif body.get("type") == "view_submission":
        request.kind = "view_submission"
        view = body.get("view") or {}
        request.name = str(view.get("callback_id", ""))
        modal = ModalContext.decode(str(view.get("private_metadata") or ""))
        request.hotfix = modal.hotfix
        request.channel = request.channel or modal.channel
    else:
        event = body.get("event") or {}
        request.name = str(event.get("type") or body.get("type") or "")
        request.user = request.user or str(event.get("user", ""))
    looks_right = request.hotfix and looks_like_hotfix_ref(request.hotfix)
    request.hotfix = format_hotfix_ref(parse_hotfix_ref(request.hotfix)) if looks_right else ""
    return request


def _subcommand(words: list[str]) -> str:
    """A known subcommand, or `help`/`unknown`: free text never becomes a log field name."""
    if not words:
        return "help"
    first = words[0].lower()
    if len(words) > 1 and named(f"{first} {words[1].lower()}") is not None:
        return f"{first} {words[1].lower()}"  # `app add`, `app owners`, ...
    return first if first in heads(Surface.SLACK) else "unknown"


@contextmanager
def job(name: str) -> Iterator[Request]:
    """A scheduled job's run: its own id, so its Slack and deployer calls can be followed too."""
    request = Request(kind="job", name=name)
    with working_for(request):
        yield request
