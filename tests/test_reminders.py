"""Reminders while hotfixes stay red, through the real bot and the local Slack Web API.

Time is a movable clock shared by the service layer and the sweep: no test sleeps for minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.pacing import ChannelPacer
from bot.reminders import Sweeper
from commands import hotfixes, reminders
from commands.actors import Actor
from commands.context import ServiceContext
from standin.stack import LocalSlackStack
from tests.bot_support import ANA, HOME, KIM, LEE, RAJ, Bot
from tests.support import MovableClock

STEP = 0.0  # channel pacing off in tests that count messages, not seconds


@pytest.fixture
def bot(ctx: ServiceContext) -> Iterator[Bot]:
    with LocalSlackStack(ctx, admins=["U0ADMIN"]) as stack:
        assert stack.services is not None
        stack.services.sweeper.pacer = ChannelPacer(STEP)
        yield Bot(stack)


def sweeper(bot: Bot) -> Sweeper:
    assert bot.stack.services is not None
    return bot.stack.services.sweeper


def nudges(bot: Bot) -> list[tuple[str, str]]:
    """(user, text) of every direct-message nudge the bot sent."""
    dms = {bot.slack.dm_channel(user): user for user in (ANA, RAJ, LEE, KIM, "U0KEN")}
    return [
        (dms[call.params["channel"]], call.params["text"])
        for call in bot.slack.calls("chat.postMessage")
        if call.params["channel"] in dms
    ]


def open_hotfix(ctx: ServiceContext, severity: str = "critical", app: str = "eCommerce") -> str:
    module = "Checkout" if app == "eCommerce" else "Orders"
    owner = ANA if app == "eCommerce" else RAJ
    return hotfixes.open_hotfix(
        ctx, Actor(owner), app, [module], "Payment fails", severity=severity
    ).hotfix.ref


def test_owners_are_nudged_every_30_minutes_while_open(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    bot.command(ANA, "open eCommerce Checkout Payment fails")
    bot.wait_living("HF-1")
    ref = "HF-1"
    clock.advance(minutes=29)
    assert sweeper(bot).sweep().claimed == 0
    clock.advance(minutes=1)
    report = sweeper(bot).sweep()
    assert sorted(report.nudged) == [(ref, ANA), (ref, RAJ)]
    sent = nudges(bot)
    assert sorted(user for user, _ in sent) == [ANA, RAJ]
    assert "red for 30 min" in sent[0][1]
    assert "Waiting on: test the fix in Pre-Production" in sent[0][1]
    dm = [c for c in bot.slack.calls("chat.postMessage") if c.params["channel"][0] == "D"][
        -1
    ].params
    buttons = [
        e["action_id"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["hotfix_snooze:1h", "hotfix_snooze:4h", "hotfix_snooze:1d", "open"]
    link = dm["blocks"][1]["elements"][3]["url"]
    assert link.startswith("https://")
    assert any("Reminded <@U0ANA> <@U0RAJ>" in t for t in bot.thread_texts()), bot.thread_texts()
    clock.advance(minutes=29)
    assert sweeper(bot).sweep().nudged == []
    clock.advance(minutes=1)
    assert len(sweeper(bot).sweep().nudged) == 2


def test_approvers_every_15_minutes_and_propagation_per_application(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    hotfixes.request_deploy(ctx, Actor(ANA), ref)
    clock.advance(minutes=15)
    assert sorted(sweeper(bot).sweep().nudged) == [(ref, KIM), (ref, LEE)]
    hotfixes.approve_deploy(ctx, Actor(LEE), ref)
    # eCommerce's catalog entry sets propagating reminders to 2h (the default is 4h).
    clock.advance(hours=1, minutes=59)
    assert sweeper(bot).sweep().claimed == 0
    clock.advance(minutes=1)
    report = sweeper(bot).sweep()
    assert sorted(report.nudged) == [(ref, ANA), (ref, RAJ)]
    assert "Quality Assurance: Checkout not merged" in nudges(bot)[-1][1]


def test_back_office_uses_the_global_propagation_cadence(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx, app="Back Office")
    hotfixes.request_deploy(ctx, Actor(RAJ), ref)
    hotfixes.approve_deploy(ctx, Actor(KIM), ref)
    clock.advance(hours=3, minutes=59)
    assert sweeper(bot).sweep().claimed == 0
    clock.advance(minutes=1)
    assert sweeper(bot).sweep().nudged == [(ref, RAJ)]


def test_snooze_button_and_command(bot: Bot, ctx: ServiceContext, clock: MovableClock) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    sweeper(bot).sweep()
    dm = next(c for c in bot.slack.calls("chat.postMessage") if c.params["channel"].startswith("D"))
    ts = next(m.ts for m in bot.slack.messages(dm.params["channel"]))
    reply = bot.driver.block_action(
        ANA, "hotfix_snooze:4h", f"{ref}|||4h", dm.params["channel"], ts
    )
    assert reply.status == 200
    bot.wait_until(
        lambda: "no reminders for 4h" in bot.slack.messages(dm.params["channel"])[-1].text,
        "the nudge replaced by the snooze answer",
    )
    clock.advance(hours=3, minutes=59)
    assert sweeper(bot).sweep().claimed == 0
    clock.advance(minutes=1)
    assert len(sweeper(bot).sweep().nudged) == 2

    bot.command(RAJ, f"snooze {ref} 1d")
    bot.wait_private(RAJ, "no reminders for 1d")
    clock.advance(hours=23)
    assert sweeper(bot).sweep().claimed == 0
    bot.command(RAJ, f"snooze {ref} soon")
    bot.wait_private(RAJ, "'soon' is not a duration")


def test_remind_sets_or_stops_the_cadence(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    bot.command(ANA, f"remind {ref} 10m")
    bot.wait_private(ANA, f"{ref}: reminders every 10m")
    clock.advance(minutes=10)
    assert len(sweeper(bot).sweep().nudged) == 2
    bot.command(ANA, f"remind {ref} off")
    bot.wait_private(ANA, "reminders off")
    clock.advance(days=2)
    assert sweeper(bot).sweep().claimed == 0
    bot.command("U0NOBODY", f"remind {ref} 5m")
    bot.wait_private("U0NOBODY", "Only the owners and approvers")


def test_escalation_after_three_unanswered_nudges_once(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    open_hotfix(ctx)
    for _ in range(2):
        clock.advance(minutes=30)
        assert sweeper(bot).sweep().escalated == []
    clock.advance(minutes=30)
    assert sweeper(bot).sweep().escalated == ["HF-1"]
    told = [
        c.params["text"]
        for c in bot.slack.calls("chat.postMessage")
        if c.params["channel"] == HOME and not c.params.get("thread_ts")
    ]
    escalations = [t for t in told if "went unanswered" in t]
    assert len(escalations) == 1
    assert "<!subteam^S0RELEASE>" in escalations[0]
    assert "3 reminder(s) went unanswered" in escalations[0]
    clock.advance(minutes=30)
    assert sweeper(bot).sweep().escalated == []


def test_escalation_after_24_hours_red_and_activity_resets(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    sweeper(bot).sweep()
    clock.advance(minutes=30)
    sweeper(bot).sweep()
    hotfixes.request_deploy(ctx, Actor(ANA), ref)  # someone acted: the count starts again
    hotfixes.reject_deploy(ctx, Actor(LEE), ref, "not yet")
    clock.advance(minutes=30)
    assert sweeper(bot).sweep().escalated == []
    clock.advance(hours=23)
    assert sweeper(bot).sweep().escalated == [ref]


def test_quiet_hours_for_medium_and_low_only(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    bot.slack.set_user_timezone(ANA, "Asia/Tokyo")  # 10:30 UTC is 19:30 in Tokyo
    ref = open_hotfix(ctx, severity="medium")
    clock.advance(minutes=30)
    report = sweeper(bot).sweep()
    assert report.nudged == [(ref, RAJ)]
    assert report.deferred == [(ref, ANA)]
    # Tokyo's working day starts at 00:00 UTC: the deferred nudge goes out then, once.
    clock.advance(hours=13, minutes=29)
    assert sweeper(bot).sweep().claimed == 0
    clock.advance(minutes=1)
    assert sweeper(bot).sweep().nudged == [(ref, ANA)]
    assert len(bot.slack.calls("users.info")) == 2, "time zones are cached"


def test_critical_ignores_quiet_hours(bot: Bot, ctx: ServiceContext, clock: MovableClock) -> None:
    bot.slack.set_user_timezone(ANA, "Asia/Tokyo")
    ref = open_hotfix(ctx, severity="critical")
    clock.advance(minutes=30)
    assert sorted(sweeper(bot).sweep().nudged) == [(ref, ANA), (ref, RAJ)]


def test_solving_stops_reminders_at_once(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    hotfixes.request_deploy(ctx, Actor(ANA), ref)
    hotfixes.approve_deploy(ctx, Actor(LEE), ref)
    hotfixes.mark_merged(ctx, Actor(RAJ), ref, "qa", "Checkout")
    hotfixes.mark_merged(ctx, Actor(RAJ), ref, "dev", "Checkout")
    clock.advance(hours=2)  # due now, in this very minute
    hotfixes.solve(ctx, Actor(RAJ), ref)
    assert sweeper(bot).sweep().claimed == 0
    assert nudges(bot) == []
    assert reminders.next_reminder(ctx, ref) is None


def test_cancelling_stops_reminders(bot: Bot, ctx: ServiceContext, clock: MovableClock) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    hotfixes.cancel(ctx, Actor(ANA), ref, "false alarm")
    assert sweeper(bot).sweep().claimed == 0


def test_a_restart_loses_nothing_and_sends_nothing_twice(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    clock.advance(hours=3)  # the process was down through six due times
    for attempt in range(2):
        with LocalSlackStack(ctx) as stack:
            assert stack.services is not None
            stack.services.sweeper.pacer = ChannelPacer(STEP)
            report = stack.services.sweeper.sweep()
            again = stack.services.sweeper.sweep()
            if attempt == 0:
                assert sorted(report.nudged) == [(ref, ANA), (ref, RAJ)], "one catch-up nudge"
            else:
                assert report.nudged == [], "the second start sends nothing new"
            assert again.nudged == []


def test_two_workers_send_each_reminder_once(ctx: ServiceContext, clock: MovableClock) -> None:
    # Many red hotfixes, all due: two sweepers (as two replicas would) race for them.
    from commands import applications
    from tests.conftest import ADMIN

    refs = []
    for index in range(12):
        name = f"App{index}"
        applications.add_application(ctx, ADMIN, name, ["Core"], "1.0.0")
        applications.set_members(ctx, ADMIN, name, "owner", [ANA])
        refs.append(
            hotfixes.open_hotfix(
                ctx, Actor(ANA), name, ["Core"], "down", severity="high"
            ).hotfix.ref
        )
    clock.advance(minutes=30)
    with LocalSlackStack(ctx) as first, LocalSlackStack(ctx) as second:
        sweepers = []
        for stack in (first, second):
            assert stack.services is not None
            stack.services.sweeper.pacer = ChannelPacer(STEP)
            sweepers.append(stack.services.sweeper)
        reports = []
        barrier = threading.Barrier(2)

        def run(sweeper: Sweeper) -> None:
            barrier.wait()
            reports.append(sweeper.sweep())

        threads = [threading.Thread(target=run, args=(s,)) for s in sweepers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        nudged = [pair for report in reports for pair in report.nudged]
        assert sorted(nudged) == sorted((ref, ANA) for ref in refs)


def test_slack_failures_do_not_drop_a_reminder(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    bot.slack.fail_next("chat.postMessage", status=500, times=6)  # beyond the client's retries
    first = sweeper(bot).sweep()
    assert first.nudged == [] or len(first.failed) >= 1
    assert first.failed, "a nudge that could not be sent is a failure, not a success"
    clock.advance(minutes=1)  # back-off: retried a minute later
    second = sweeper(bot).sweep()
    delivered = {user for _, user in first.nudged + second.nudged}
    assert delivered == {ANA, RAJ}
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    clock.advance(minutes=30)
    assert len(sweeper(bot).sweep().nudged) == 2, "429 with Retry-After is retried by the client"
    assert ref == "HF-1"
