"""Reminders while hotfixes stay red, through the real bot and the local Slack Web API.

Time is a movable clock shared by the service layer and the sweep: no test sleeps for minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.reminders import Sweeper
from commands import hotfixes, reminders
from commands.actors import Actor
from commands.context import ServiceContext
from standin.stack import LocalSlackStack
from standin.web_api import FakeSlackWebApi
from tests.bot_support import ANA, HOME, KIM, LEE, RAJ, Bot
from tests.support import MovableClock


@pytest.fixture
def bot(ctx: ServiceContext) -> Iterator[Bot]:
    with LocalSlackStack(ctx, admins=["U0ADMIN"]) as stack:
        assert stack.services is not None
        yield Bot(stack)


def sweeper(bot: Bot) -> Sweeper:
    assert bot.stack.services is not None
    return bot.stack.services.sweeper


def nudges(bot: Bot) -> list[tuple[str, str]]:
    """(user, text) of every direct-message nudge the bot sent."""
    return nudges_in(bot.slack)


def nudges_in(slack: FakeSlackWebApi) -> list[tuple[str, str]]:
    dms = {slack.dm_channel(user): user for user in (ANA, RAJ, LEE, KIM, "U0KEN")}
    return [
        (dms[call.params["channel"]], call.params["text"])
        for call in slack.calls("chat.postMessage")
        if call.params["channel"] in dms and call.ok
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
        for stack in (first, second):
            assert stack.services is not None
            stack.services.deliverer.sweep()  # anything the fast paths left
        # What reached Slack, over both replicas: one DM per hotfix, none twice.
        sent = [text for stack in (first, second) for _, text in nudges_in(stack.slack)]
        assert sorted(text.split(" · ")[0] for text in sent) == sorted(f"⏰ {r}" for r in refs)


def test_slack_failures_do_not_drop_a_reminder(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    bot.slack.fail_next("chat.postMessage", status=500, times=100)  # beyond the client's retries
    first = sweeper(bot).sweep()
    assert sorted(first.nudged) == [(ref, ANA), (ref, RAJ)], "the round is recorded"
    assert nudges(bot) == [], "and nothing reached Slack"
    bot.slack.heal()
    # The outbox's back-off, not the reminder's cadence, brings the nudges: the next outbox
    # sweep sends each once, and the reminder (advanced with the round) is not due again.
    clock.advance(seconds=2)
    assert sweeper(bot).sweep().claimed == 0
    assert bot.stack.services is not None
    bot.stack.services.deliverer.sweep()
    assert sorted(user for user, _ in nudges(bot)) == [ANA, RAJ]
    bot.stack.services.deliverer.sweep()
    assert len(nudges(bot)) == 2, "a delivered nudge is not sent again"
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    clock.advance(minutes=30)
    assert len(sweeper(bot).sweep().nudged) == 2
    assert len(nudges(bot)) == 4, "429 with Retry-After is retried by the client"


def test_a_crash_between_the_rounds_commit_and_its_send_is_delivered_by_the_sweep(
    ctx: ServiceContext, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    with LocalSlackStack(ctx) as crashed:
        assert crashed.services is not None
        # The process dies right after the round's commit, before its fast path sends anything.
        monkeypatch.setattr(crashed.services.deliverer, "deliver", lambda work: set())
        assert sorted(crashed.services.sweeper.sweep().nudged) == [(ref, ANA), (ref, RAJ)]
        assert nudges_in(crashed.slack) == []
    clock.advance(seconds=ctx.outbox.lease.total_seconds() + 1)  # the dead claim's lease ends
    with LocalSlackStack(ctx) as restarted:
        assert restarted.services is not None
        assert restarted.services.sweeper.sweep().claimed == 0, "the reminder moved on"
        restarted.services.deliverer.sweep()
        sent = nudges_in(restarted.slack)
        assert sorted(user for user, _ in sent) == [ANA, RAJ]
        assert all(f"⏰ {ref} · eCommerce has been red for" in text for _, text in sent)
        thread = [
            m.text
            for m in restarted.slack.messages(HOME, include_replies=True)
            if "Reminded" in m.text
        ]
        assert len(thread) == 1 and "<@U0ANA> <@U0RAJ>" in thread[0], thread
        restarted.services.deliverer.sweep()
        assert len(nudges_in(restarted.slack)) == 2, "sent once"


def test_a_nudge_recorded_before_the_hotfix_was_solved_is_not_sent(
    ctx: ServiceContext, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    with LocalSlackStack(ctx) as stack:
        assert stack.services is not None
        monkeypatch.setattr(stack.services.deliverer, "deliver", lambda work: set())
        assert len(stack.services.sweeper.sweep().nudged) == 2
        monkeypatch.undo()
        hotfixes.cancel(ctx, Actor(ANA), ref, "false alarm")
        clock.advance(seconds=ctx.outbox.lease.total_seconds() + 1)
        stack.services.deliverer.sweep()
        assert nudges_in(stack.slack) == []
        with ctx.db.read() as repository:
            assert all(row.delivered_at is not None for row in repository.outbox_rows())


def test_a_round_does_not_pile_up_behind_an_unsent_nudge(
    bot: Bot, ctx: ServiceContext, clock: MovableClock
) -> None:
    # Slack refuses for an hour: two rounds fall due, yet each owner gets one nudge after.
    ref = open_hotfix(ctx)
    clock.advance(minutes=30)
    bot.slack.fail_next("chat.postMessage", error="internal_error", times=100)
    assert len(sweeper(bot).sweep().nudged) == 2
    clock.advance(minutes=30)
    assert sweeper(bot).sweep().nudged == [], "the first round's nudges still wait"
    bot.slack.heal()
    clock.advance(minutes=1)
    assert bot.stack.services is not None
    bot.stack.services.deliverer.sweep()
    assert sorted(user for user, _ in nudges(bot)) == [ANA, RAJ]
    assert ref == "HF-1"
