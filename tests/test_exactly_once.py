"""Every outbox row reaches Slack once, even when the process that sent it died before it could
record the delivery.

A process is "killed" between its post and its record by making the record step fail (and, for
a first post, by losing the ts it would have kept at once); the next process's sweep then finds
the post by its message metadata and records it instead of posting again. A read-back that
fails leaves the row for later: it never posts blindly.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.delivery import DELIVERY_EVENT, Deliverer, LeaseRunningOut
from commands import hotfixes, outbox
from commands.actors import Actor
from commands.context import ServiceContext
from commands.outbox import Work
from commands.snapshots import hotfix_snapshots
from standin.slack_client import SlackDriver
from standin.web_api import FakeSlackWebApi, RecordedCall
from storage.setup import open_database
from tests.support import MovableClock, backends, fresh_database_url
from tests.test_outbox import _catalog, _serve, _wait
from tests.test_serve import SECRET, free_port

ANA = Actor("U0ANA")
HOME = "C0ECOMMERCE"  # eCommerce's home channel in the example catalog
OWNER = "U0RAJ"


class Killed(Exception):
    """The process died here."""


@pytest.fixture
def slack() -> Iterator[FakeSlackWebApi]:
    with FakeSlackWebApi() as fake:
        yield fake


def deliverer_for(ctx: ServiceContext, slack: FakeSlackWebApi, worker: str) -> Deliverer:
    client = WebClient(token="xoxb-once-1", base_url=slack.base_url)
    client.retry_handlers = [RateLimitErrorRetryHandler(max_retry_count=0)]
    return Deliverer(ctx, client, worker)


def die_before_recording(monkeypatch: pytest.MonkeyPatch, *, first_post_too: bool) -> None:
    """Posts reach Slack; what was sent is never written down (the process is gone)."""

    def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed

    monkeypatch.setattr(outbox, "finish", killed)
    if first_post_too:
        monkeypatch.setattr(outbox, "remember_posted", lambda *args, **kwargs: None)


def replies(slack: FakeSlackWebApi, channel: str = HOME) -> list[str]:
    parents = [m for m in slack.messages(channel) if not m.is_reply]
    assert len(parents) == 1, f"one living message in {channel}, not {len(parents)}"
    return [m.text for m in slack.thread(channel, parents[0].ts)]


def twice(texts: list[str]) -> list[str]:
    return [text for text, n in Counter(texts).items() if n > 1]


def undelivered(ctx: ServiceContext, hotfix_id: int) -> list[str]:
    with ctx.db.read() as repository:
        return [row.kind for row in repository.outbox_rows(hotfix_id) if row.delivered_at is None]


def after_the_lease(ctx: ServiceContext, clock: MovableClock) -> None:
    clock.advance(seconds=ctx.outbox.lease.total_seconds() + 1)


def reads(slack: FakeSlackWebApi) -> list[str]:
    return [
        call.method
        for call in slack.calls()
        if call.method in ("conversations.history", "conversations.replies")
    ]


def opened_and_shown(ctx: ServiceContext, slack: FakeSlackWebApi) -> tuple[int, str]:
    """A hotfix opened by process a, its living message and first thread line delivered."""
    ctx.worker = "a"
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    deliverer_for(ctx, slack, "a").deliver(opened.work)
    assert len(replies(slack)) == 1
    return opened.hotfix.id, opened.hotfix.ref


def test_every_post_carries_metadata_naming_its_row_and_first_sends_read_nothing(
    ctx: ServiceContext, slack: FakeSlackWebApi
) -> None:
    hotfix_id, ref = opened_and_shown(ctx, slack)
    assert reads(slack) == [], "a first send does not pay a read"
    [parent] = slack.messages(HOME)
    assert parent.metadata == {
        "event_type": DELIVERY_EVENT,
        "event_payload": {"hotfix": ref, "kind": "living_message"},
    }
    [line] = slack.thread(HOME, parent.ts)
    with ctx.db.read() as repository:
        [row] = repository.outbox_rows(hotfix_id)
    assert line.metadata == {
        "event_type": DELIVERY_EVENT,
        "event_payload": {"outbox": row.id, "kind": "event"},
    }


def test_a_thread_line_sent_before_the_process_died_is_not_sent_again(
    ctx: ServiceContext,
    slack: FakeSlackWebApi,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hotfix_id, ref = opened_and_shown(ctx, slack)
    requested = hotfixes.request_deploy(ctx, ANA, ref)
    with monkeypatch.context() as patched:
        die_before_recording(patched, first_post_too=False)
        with pytest.raises(Killed):
            deliverer_for(ctx, slack, "a").deliver(requested.work)
    assert len(replies(slack)) == 2, "the line reached Slack"
    assert undelivered(ctx, hotfix_id) == ["event"], "but its delivery was not recorded"

    after_the_lease(ctx, clock)
    assert deliverer_for(ctx, slack, "b").sweep() == 1
    assert len(replies(slack)) == 2 and twice(replies(slack)) == []
    assert undelivered(ctx, hotfix_id) == []
    assert reads(slack) == ["conversations.replies"]
    read = slack.last("conversations.replies")
    assert read.params["include_all_metadata"] in ("1", "true", True)


def test_a_direct_message_sent_before_the_process_died_is_not_sent_again(
    ctx: ServiceContext,
    slack: FakeSlackWebApi,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hotfix_id, _ = opened_and_shown(ctx, slack)
    work = warn_owner(ctx, hotfix_id)
    with monkeypatch.context() as patched:
        die_before_recording(patched, first_post_too=False)
        with pytest.raises(Killed):
            deliverer_for(ctx, slack, "a").deliver(work)
    dm = slack.dm_channel(OWNER)
    assert len(slack.messages(dm)) == 1
    assert sorted(undelivered(ctx, hotfix_id)) == ["dm", "warning"]

    after_the_lease(ctx, clock)
    deliverer_for(ctx, slack, "b").sweep()
    assert len(slack.messages(dm)) == 1, "the owner is told once"
    assert len(replies(slack)) == 2 and twice(replies(slack)) == []
    assert undelivered(ctx, hotfix_id) == []
    history = slack.last("conversations.history")
    assert history.params["channel"] == dm
    assert float(history.params["oldest"]) < float(slack.messages(dm)[0].ts)


def test_a_first_post_whose_ts_was_lost_is_found_and_updated_not_posted_again(
    ctx: ServiceContext,
    slack: FakeSlackWebApi,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx.worker = "a"
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    with monkeypatch.context() as patched:
        die_before_recording(patched, first_post_too=True)
        with pytest.raises(Killed):
            deliverer_for(ctx, slack, "a").deliver(opened.work)
    [posted] = slack.messages(HOME)
    with ctx.db.read() as repository:
        message = repository.message(opened.hotfix.id, HOME)
    assert message is not None and message.ts == "", "the ts died with the process"

    after_the_lease(ctx, clock)
    deliverer_for(ctx, slack, "b").sweep()
    assert [m.ts for m in slack.messages(HOME)] == [posted.ts], "one living message"
    assert len(replies(slack)) == 1, "its thread line told once"
    with ctx.db.read() as repository:
        message = repository.message(opened.hotfix.id, HOME)
    assert message is not None and message.ts == posted.ts
    assert message.shown_revision == opened.hotfix.revision
    assert undelivered(ctx, opened.hotfix.id) == []


def test_a_read_back_that_fails_leaves_the_row_for_later_and_never_posts_blindly(
    ctx: ServiceContext,
    slack: FakeSlackWebApi,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hotfix_id, ref = opened_and_shown(ctx, slack)
    requested = hotfixes.request_deploy(ctx, ANA, ref)
    with monkeypatch.context() as patched:
        die_before_recording(patched, first_post_too=False)
        with pytest.raises(Killed):
            deliverer_for(ctx, slack, "a").deliver(requested.work)

    after_the_lease(ctx, clock)
    slack.fail_next("conversations.replies", status=500, times=3)
    other = deliverer_for(ctx, slack, "b")
    other.sweep()
    assert len(replies(slack)) == 2, "not posted without knowing"
    with ctx.db.read() as repository:
        [line] = [r for r in repository.outbox_rows(hotfix_id) if r.delivered_at is None]
    assert line.attempts == 1 and line.claimed_by is None, "backed off, free for later"

    slack.heal()
    clock.advance(seconds=ctx.outbox.max_backoff.total_seconds())
    other.sweep()
    assert len(replies(slack)) == 2 and twice(replies(slack)) == []
    assert undelivered(ctx, hotfix_id) == []


def test_a_line_slack_refused_is_read_back_then_sent_once(
    ctx: ServiceContext, slack: FakeSlackWebApi, clock: MovableClock
) -> None:
    """A failed post may have reached Slack all the same (a lost answer): the retry reads
    first, finds nothing, and posts once."""
    hotfix_id, ref = opened_and_shown(ctx, slack)
    ctx.worker = "a"
    requested = hotfixes.request_deploy(ctx, ANA, ref)
    deliverer = deliverer_for(ctx, slack, "a")
    slack.fail_next("chat.postMessage", status=500)
    deliverer.deliver(requested.work)
    assert len(replies(slack)) == 1 and undelivered(ctx, hotfix_id) == ["event"]
    clock.advance(seconds=ctx.outbox.max_backoff.total_seconds())
    deliverer.sweep()
    assert len(replies(slack)) == 2 and undelivered(ctx, hotfix_id) == []
    assert reads(slack) == ["conversations.replies"]


def test_the_fence_stops_posting_when_the_lease_may_have_passed_on(
    ctx: ServiceContext, slack: FakeSlackWebApi
) -> None:
    deliverer = deliverer_for(ctx, slack, "a")
    lease = ctx.outbox.lease.total_seconds()
    now = time.monotonic()
    deliverer._fence(now)()  # just claimed: posts go on
    deliverer._renewed_at = now
    deliverer._fence(now - 10 * lease)()  # claimed long ago but renewed since
    deliverer._renewed_at = now - lease
    with pytest.raises(LeaseRunningOut):
        deliverer._fence(now - 0.8 * lease)()  # neither claimed nor renewed recently enough
    deliverer.stop()


def test_a_delivery_whose_lease_runs_out_posts_nothing_more_and_the_sweep_sends_once(
    ctx: ServiceContext,
    slack: FakeSlackWebApi,
    clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hotfix_id, ref = opened_and_shown(ctx, slack)
    ctx.worker = "a"
    requested = hotfixes.request_deploy(ctx, ANA, ref)
    deliverer = deliverer_for(ctx, slack, "a")

    def ran_out(taken: float) -> Callable[[], None]:
        def check() -> None:
            raise LeaseRunningOut("renewals did not get through")

        return check

    with monkeypatch.context() as patched:
        patched.setattr(deliverer, "_fence", ran_out)
        deliverer.deliver(requested.work)
    assert len(replies(slack)) == 1, "nothing posted without the lease"
    assert undelivered(ctx, hotfix_id) == ["event"]
    clock.advance(seconds=ctx.outbox.max_backoff.total_seconds())
    deliverer.sweep()
    assert len(replies(slack)) == 2 and undelivered(ctx, hotfix_id) == []
    deliverer.stop()


def warn_owner(ctx: ServiceContext, hotfix_id: int) -> Work:
    """A regression warning for the thread and by DM to an owner, as the regression watch
    writes it, claimed by process a."""
    payload = {
        "plan_key": "plan-1",
        "source_environment": "Quality Assurance",
        "pending_modules": ["Checkout"],
    }
    with ctx.db.write() as repository:
        hotfix = repository.hotfix(hotfix_id, for_update=True)
        assert hotfix is not None
        app = repository.application(hotfix.application_id)
        snapshot = hotfix_snapshots(repository, [hotfix])[0]
        work = outbox.record(
            ctx,
            repository,
            hotfix,
            app,
            snapshot,
            ctx.now(),
            lines=[(outbox.WARNING, payload)],
            direct=[(OWNER, payload)],
        )
    assert work is not None
    return work


# a real kill -9 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("moment", ["first post", "thread line"])
def test_kill_9_right_after_a_post_reached_slack_then_restart_sends_nothing_twice(
    backend: str, moment: str, tmp_path: Path, slack: FakeSlackWebApi
) -> None:
    """`serve` is killed while Slack's answer to a post is on its way: the post is in Slack, the
    process never learnt it. The next process finds it and sends nothing twice."""
    with fresh_database_url(backend, tmp_path) as url:
        _catalog(url)
        port = free_port()
        process = _serve(url, slack, tmp_path, port)
        killed = threading.Event()

        def kill_at_the_moment(call: RecordedCall) -> None:
            # The fake calls this before it writes its answer: the post is in Slack, the
            # answer never reaches the process.
            threaded = bool(call.params.get("thread_ts"))
            wanted = threaded if moment == "thread line" else not threaded
            if call.method == "chat.postMessage" and call.ok and wanted and not killed.is_set():
                killed.set()
                process.send_signal(signal.SIGKILL)

        slack.on_call = kill_at_the_moment
        try:
            driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, web_api=slack)
            assert driver.slash_command(ANA.user_id, "open eCommerce Checkout down").status == 200
            _wait(killed.is_set, f"the kill at the {moment}")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=15)
        slack.on_call = None
        process = _serve(url, slack, tmp_path, free_port())
        try:
            _wait(lambda: _all_delivered(url), "the restarted process to deliver the rest")
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0
        for channel in (HOME, "C0INCIDENT"):
            lines = replies(slack, channel)  # asserts one living message in the channel
            assert len(lines) == 1, f"one thread line in {channel}: {lines}"
        assert reads(slack), "the restarted process looked before sending again"


def _all_delivered(url: str) -> bool:
    database = open_database(url)
    try:
        with database.read() as repository:
            rows = repository.outbox_rows()
            messages = repository.living_messages([row.hotfix_id for row in rows if row.hotfix_id])
        return (
            bool(rows)
            and all(row.delivered_at is not None for row in rows)
            and all(m.shown_revision >= m.wanted_revision and m.ts for m in messages)
        )
    finally:
        database.engine.dispose()
