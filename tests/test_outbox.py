"""The outbox: what Slack must show is written with the change and delivered after it.

In-process checks of the rules (one message per channel, never backward, claims that free,
back-off that reaches Slack once it answers), then real `serve` processes: killed with
SIGKILL before they could deliver, stopped with SIGTERM while Slack is slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import views
from bot.delivery import Deliverer
from commands import applications, hotfixes, outbox, queries
from commands.actors import Actor
from commands.context import ServiceContext
from standin.slack_client import SlackDriver
from standin.web_api import FakeSlackWebApi
from storage.setup import open_database
from tests.conftest import ADMIN, EXAMPLE_CATALOG
from tests.support import POSTGRES_URL, MovableClock, backends, fresh_database_url
from tests.test_serve import SECRET, free_port

ANA = Actor("U0ANA")
HOME = "C0ECOMMERCE"  # eCommerce's home channel in the example catalog


@pytest.fixture
def slack() -> Iterator[FakeSlackWebApi]:
    with FakeSlackWebApi() as fake:
        yield fake


def deliverer_for(ctx: ServiceContext, slack: FakeSlackWebApi, worker: str) -> Deliverer:
    client = WebClient(token="xoxb-outbox-1", base_url=slack.base_url)
    client.retry_handlers = [RateLimitErrorRetryHandler(max_retry_count=0)]
    return Deliverer(ctx, client, worker)


def living(slack: FakeSlackWebApi, channel: str = HOME) -> list[str]:
    return [m.text for m in slack.messages(channel) if not m.is_reply]


def test_a_change_claims_its_rows_and_the_fast_path_sends_them(
    ctx: ServiceContext, slack: FakeSlackWebApi
) -> None:
    ctx.worker = "process-a"
    deliverer = deliverer_for(ctx, slack, "process-a")
    outcome = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    assert outcome.work is not None and outcome.work.claim.startswith("process-a/")
    assert [m.channel for m in outcome.work.messages] == [HOME]
    deliverer.deliver(outcome.work)
    assert len(living(slack)) == 1
    with ctx.db.read() as repository:
        rows = repository.outbox_rows(outcome.hotfix.id)
        message = repository.message(outcome.hotfix.id, HOME)
    assert [(r.kind, r.delivered_at is not None, r.claimed_by) for r in rows] == [
        ("event", True, None)
    ]
    assert message is not None and message.shown_revision == outcome.hotfix.revision == 1
    assert message.claimed_by is None
    deliverer.stop()


def test_a_click_during_the_first_post_makes_no_second_message_and_never_goes_back(
    ctx: ServiceContext, slack: FakeSlackWebApi
) -> None:
    ctx.worker = "process-a"
    deliverer = deliverer_for(ctx, slack, "process-a")
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    # The first post is still in flight (claimed, not finished) when the next change commits:
    requested = hotfixes.request_deploy(ctx, ANA, opened.hotfix.ref)
    assert requested.work is None, "the hotfix's delivery is held by the first one"
    deliverer.deliver(opened.work)  # sends revision 1, then picks revision 2 up itself
    assert len(living(slack)) == 1
    assert len(slack.calls("chat.update")) == 1
    shown = [c.params.get("text", "") for c in slack.calls() if c.method.startswith("chat.")]
    assert "approval" in slack.messages(HOME)[0].text.lower() or any(
        "approv" in text.lower() for text in shown
    )
    with ctx.db.read() as repository:
        message = repository.message(opened.hotfix.id, HOME)
        lines = repository.outbox_rows(opened.hotfix.id)
    assert message is not None and message.shown_revision == 2
    assert all(line.delivered_at is not None for line in lines) and len(lines) == 2
    thread = slack.thread(HOME, slack.messages(HOME)[0].ts)
    assert len([m for m in thread if m.is_reply]) == 2, "each event told once, in order"
    deliverer.stop()


def test_slack_down_then_back_the_sweep_delivers_with_capped_backoff(
    ctx: ServiceContext, slack: FakeSlackWebApi, clock: MovableClock
) -> None:
    ctx.worker = "process-a"
    deliverer = deliverer_for(ctx, slack, "process-a")
    slack.fail_next("chat.postMessage", times=1000, status=500)
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    deliverer.deliver(opened.work)
    for _ in range(8):  # Slack stays down for a while: attempts back off, capped
        clock.advance(seconds=ctx.outbox.max_backoff.total_seconds())
        deliverer.sweep()
    assert living(slack) == []
    with ctx.db.read() as repository:
        message = repository.message(opened.hotfix.id, HOME)
    assert message is not None and message.attempts >= 8
    assert message.next_attempt_at is not None
    assert message.next_attempt_at - clock() <= ctx.outbox.max_backoff
    slack.heal()  # Slack answers again
    clock.advance(seconds=ctx.outbox.max_backoff.total_seconds())
    assert deliverer.sweep() == 1
    assert len(living(slack)) == 1
    assert deliverer.sweep() == 0, "nothing left"
    deliverer.stop()


def test_the_gauges_show_what_the_outbox_still_owes_slack(
    ctx: ServiceContext, slack: FakeSlackWebApi, clock: MovableClock
) -> None:
    from bot.metrics import registry_for

    def gauges() -> tuple[float | None, float | None, float | None]:
        registry = registry_for(ctx)
        undelivered = "hotfix_bot_outbox_undelivered"
        return (
            registry.get_sample_value(undelivered, {"kind": "living_message"}),
            registry.get_sample_value(undelivered, {"kind": "line"}),
            registry.get_sample_value("hotfix_bot_outbox_oldest_undelivered_age_seconds"),
        )

    assert gauges() == (0, 0, 0)
    ctx.worker = "process-a"
    deliverer = deliverer_for(ctx, slack, "process-a")
    slack.fail_next("chat.postMessage", times=1000, status=500)
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    deliverer.deliver(opened.work)
    clock.advance(seconds=90)
    assert gauges() == (1, 1, 90), "the message and its thread line wait since the open"
    slack.heal()
    deliverer.sweep()
    assert gauges() == (0, 0, 0)
    deliverer.stop()


def test_a_claim_of_a_dead_process_frees_after_its_lease(
    ctx: ServiceContext, slack: FakeSlackWebApi, clock: MovableClock
) -> None:
    ctx.worker = "dead-process"
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    assert opened.work is not None  # claimed, and the process dies before sending
    other = deliverer_for(ctx, slack, "live-process")
    assert other.sweep() == 0, "the lease still holds"
    clock.advance(seconds=ctx.outbox.lease.total_seconds() + 1)
    assert other.sweep() == 1
    assert len(living(slack)) == 1
    other.stop()


def test_two_deliverers_never_send_a_row_twice(ctx: ServiceContext, slack: FakeSlackWebApi) -> None:
    opened = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    hotfixes.request_deploy(ctx, ANA, opened.hotfix.ref)  # no worker: both left to sweeps
    first, second = (deliverer_for(ctx, slack, name) for name in ("a", "b"))
    claimed_first = outbox.claim_due(ctx, "a")
    assert outbox.claim_due(ctx, "b") == []
    for work in claimed_first:
        first.deliver(work)
    assert second.sweep() == 0
    assert len(living(slack)) == 1
    posts = [c for c in slack.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert len(posts) == 2  # opened, deploy requested: once each
    first.stop()
    second.stop()


# real processes ---------------------------------------------------------------------------


def _serve(url: str, slack: FakeSlackWebApi, folder: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-outbox-1",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "OUTBOX_SWEEP_SECONDS": "0.2",
        "OUTBOX_LEASE_SECONDS": "2",
        "OUTBOX_MAX_BACKOFF_SECONDS": "1",
        "SHUTDOWN_GRACE": "10",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve"],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)


def _catalog(url: str) -> None:
    database = open_database(url, upgrade=True)
    try:
        applications.load_catalog(ServiceContext(database), ADMIN, EXAMPLE_CATALOG)
    finally:
        database.engine.dispose()


def _state_of(url: str, ref: str) -> tuple[str, int]:
    database = open_database(url)
    try:
        hotfix = queries.hotfix_status(ServiceContext(database), ref)
        return hotfix.state.value, hotfix.revision
    finally:
        database.engine.dispose()


def _wait(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("backend", backends())
def test_kill_9_before_delivery_then_restart_shows_the_change(
    backend: str, tmp_path: Path, slack: FakeSlackWebApi
) -> None:
    with fresh_database_url(backend, tmp_path) as url:
        _catalog(url)
        port = free_port()
        slack.fail_next("chat.postMessage", times=100_000, status=500)  # nothing gets out
        process = _serve(url, slack, tmp_path, port)
        try:
            driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, web_api=slack)
            assert driver.slash_command(ANA.user_id, "open eCommerce Checkout down").status == 200
            _wait(lambda: _state_of_or_none(url, "HF-1") is not None, "the open to commit")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=15)
        assert living(slack, "C0INCIDENT") == [] and living(slack) == []
        slack.heal()  # Slack is fine; only a new process can repair the message now
        started = time.monotonic()
        process = _serve(url, slack, tmp_path, free_port())
        try:
            _wait(lambda: len(living(slack)) == 1, "the living message after the restart")
            assert time.monotonic() - started < 30
            _wait(lambda: len(living(slack, "C0INCIDENT")) == 1, "the origin channel's too")
            assert "HF-1" in living(slack)[0]
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0


def _state_of_or_none(url: str, ref: str) -> tuple[str, int] | None:
    try:
        return _state_of(url, ref)
    except Exception:
        return None


@pytest.mark.parametrize("backend", backends())
def test_sigterm_while_slack_is_slow_delivers_before_exit(
    backend: str, tmp_path: Path, slack: FakeSlackWebApi
) -> None:
    with fresh_database_url(backend, tmp_path) as url:
        _catalog(url)
        port = free_port()
        process = _serve(url, slack, tmp_path, port)
        slack.delay("chat.postMessage", 1.5)
        try:
            driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, web_api=slack)
            assert driver.slash_command(ANA.user_id, "open eCommerce Checkout down").status == 200
            _wait(lambda: _state_of_or_none(url, "HF-1") is not None, "the open to commit")
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
        assert code == 0, process.stdout.read() if process.stdout else ""
        # Delivered before the exit: both living messages and their thread lines.
        assert len(living(slack)) == 1 and len(living(slack, "C0INCIDENT")) == 1
        database = open_database(url)
        try:
            with database.read() as repository:
                rows = repository.outbox_rows()
        finally:
            database.engine.dispose()
        assert rows and all(row.delivered_at is not None for row in rows)


def test_backoff_is_capped() -> None:
    from commands.context import OutboxPolicy

    policy = OutboxPolicy(first_retry=timedelta(seconds=1), max_backoff=timedelta(seconds=10))
    assert [outbox.backoff(policy, n).total_seconds() for n in (1, 2, 3, 4, 5, 50)] == [
        1,
        2,
        4,
        8,
        10,
        10,
    ]


# where the bot cannot post ------------------------------------------------------------------


def test_opening_where_the_bot_cannot_post_says_where_the_message_is(
    ctx: ServiceContext,
) -> None:
    from tests.bot_support import running

    with running(ctx) as bot:
        bot.slack.close_to_bot("G0PRIVATE", "channel_not_found")
        bot.command(ANA.user_id, "open eCommerce Checkout Payment fails", channel="G0PRIVATE")
        told = bot.wait_private(ANA.user_id, "/invite @hotfix-bot")
        assert f"<#{HOME}>" in told
        bot.wait_living("HF-1", channel=HOME)
        assert "HF-1" in bot.living_text(HOME) and bot.buttons(HOME), "buttons in the home channel"


def test_without_a_home_channel_the_message_comes_by_dm(ctx: ServiceContext) -> None:
    from tests.bot_support import running

    applications.add_application(ctx, ADMIN, "Lonely", ["Core"], "1.0.0")
    applications.set_members(ctx, ADMIN, "Lonely", "owner", [ANA.user_id])
    with running(ctx) as bot:
        bot.slack.close_to_bot("D0BETWEENPEOPLE", "channel_not_found")
        bot.command(ANA.user_id, "open Lonely Core It is down", channel="D0BETWEENPEOPLE")
        told = bot.wait_private(ANA.user_id, "/invite @hotfix-bot")
        assert "direct messages" in told
        dm = bot.slack.dm_channel(ANA.user_id)
        bot.wait_living("HF-1", channel=dm)
        assert bot.buttons(dm), "the DM carries the buttons"


@pytest.mark.skipif(not POSTGRES_URL, reason="several replicas need PostgreSQL (TEST_DATABASE_URL)")
def test_two_replicas_deliver_each_row_once_and_never_backward(
    tmp_path: Path, slack: FakeSlackWebApi
) -> None:
    count = 4
    with fresh_database_url("postgresql", tmp_path) as url:
        database = open_database(url, upgrade=True)
        ctx = ServiceContext(database)  # no worker: every row waits for the replicas' sweeps
        texts: dict[str, list[str]] = {}  # channel -> the message's text at each revision
        refs = []
        for index in range(count):
            name, channel = f"Replica{index}", f"C0REPLICA{index}"
            applications.add_application(
                ctx, ADMIN, name, ["Core", "Edge"], "1.0.0", home_channel=channel
            )
            applications.set_members(ctx, ADMIN, name, "owner", [ANA.user_id])
            applications.set_members(ctx, ADMIN, name, "approver", ["U0LEE"])
            outcome = hotfixes.open_hotfix(ctx, ANA, name, ["Core", "Edge"], "down")
            refs.append((outcome.hotfix.ref, channel))
            texts[channel] = [views.fallback_text(outcome.hotfix)]
        steps: list[Callable[[str], Any]] = [
            lambda ref: hotfixes.request_deploy(ctx, ANA, ref),
            lambda ref: hotfixes.approve_deploy(ctx, Actor("U0LEE"), ref),
            lambda ref: hotfixes.mark_merged(ctx, ANA, ref, "Quality Assurance", "Core"),
            lambda ref: hotfixes.mark_merged(ctx, ANA, ref, "Quality Assurance", "Edge"),
            lambda ref: hotfixes.mark_merged(ctx, ANA, ref, "Development", "Core"),
            lambda ref: hotfixes.mark_merged(ctx, ANA, ref, "Development", "Edge"),
        ]
        replicas = [_serve(url, slack, tmp_path, free_port()) for _ in range(2)]
        try:
            for step in steps:  # changes keep coming while both replicas deliver
                for ref, channel in refs:
                    texts[channel].append(views.fallback_text(step(ref).hotfix))
                time.sleep(0.15)
            for _ref, channel in refs:
                _wait(
                    lambda c=channel: _shows(slack, c, texts[c][-1]),  # type: ignore[misc]
                    f"{channel} to show the last state",
                )
            time.sleep(1.0)  # more sweeps by both: nothing new may be sent
        finally:
            for process in replicas:
                process.terminate()
            for process in replicas:
                assert process.wait(timeout=30) == 0
        with database.read() as repository:
            rows = repository.outbox_rows()
        database.engine.dispose()
        assert rows and all(row.delivered_at is not None for row in rows)
        for _ref, channel in refs:
            assert len(slack.messages(channel)) == 1, "one living message per channel"
            shown = [
                texts[channel].index(call.params["text"])
                for call in slack.calls()
                if call.method in ("chat.postMessage", "chat.update")
                and call.params.get("channel") == channel
                and not call.params.get("thread_ts")
            ]
            assert shown == sorted(shown), f"{channel} went backward: revisions {shown}"
            replies = [
                call.params["text"]
                for call in slack.calls("chat.postMessage")
                if call.params.get("channel") == channel and call.params.get("thread_ts")
            ]
            assert len(replies) == len([r for r in rows if r.channel == channel]), "once each"


def _shows(slack: FakeSlackWebApi, channel: str, text: str) -> bool:
    messages = slack.messages(channel)
    return bool(messages) and messages[-1].text == text
