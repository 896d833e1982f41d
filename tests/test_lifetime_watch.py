"""The LifeTime watch against the published-contract LifeTime stand-in (no Slack here)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import ids, views
from bot.lifetime_watch import LifeTimeWatcher
from bot.views.hotfix_message import done_item
from commands import hotfixes, lifetime_watch, outbox, queries
from commands.actors import Actor
from commands.applications import apply_catalog
from commands.catalog_file import parse_catalog
from commands.context import ServiceContext
from commands.deployers.registry import DeployerSecrets
from commands.errors import AlreadyApplied, InvalidInput, PermissionDenied, Refused
from commands.lifecycle import HotfixState, ItemStatus
from commands.lifetime_watch import LifeTimeWatch
from commands.results import EnvironmentLine
from standin.lifetime import FakeLifeTime
from standin.slack_client import static_select, text_input
from standin.stack import LocalSlackStack
from storage.models import Event, Hotfix, LifeTimeSuggestion
from tests.bot_support import ANA, LEE, RAJ, Bot
from tests.conftest import ADMIN
from tests.support import MovableClock

ENVIRONMENTS = [
    ("Development", "Development"),
    ("Quality Assurance", "Test"),
    ("Pre-Production", "Test"),
    ("Production", "Production"),
]
EVERY = timedelta(seconds=120)


@pytest.fixture
def lifetime() -> Iterator[FakeLifeTime]:
    with FakeLifeTime() as fake:
        for order, (name, kind) in enumerate(ENVIRONMENTS):
            fake.add_environment(name, order, kind)
        fake.add_application("Shop", ["Cart", "Pricing", "Search"])
        fake.add_application("Blog", ["Posts"])  # in LifeTime, not watched by the bot
        for name in ("Production", "Pre-Production", "Quality Assurance"):
            fake.set_running("Shop", name, "3.2")
        fake.set_running("Shop", "Development", "3.3", modified=True)
        fake.set_running("Blog", "Production", "1.0")
        yield fake


@pytest.fixture
def watched(ctx: ServiceContext, lifetime: FakeLifeTime) -> ServiceContext:
    apply_catalog(
        ctx,
        ADMIN,
        parse_catalog(
            "applications:\n"
            "  - name: Shop\n"
            f"    deployer: {{kind: lifetime, url: '{lifetime.base_url}'}}\n"
            "    home_channel: C0SHOP\n"
            "    owners: [U0ANA, U0RAJ]\n"
            "    approvers: [U0LEE]\n"
            "    modules: [Cart, Pricing, Search]\n"
            "    versions: {prod: 3.2, preprod: 3.2, qa: 3.2, dev: 3.3+}\n"
        ),
    )
    ctx.deployer_secrets = DeployerSecrets(lifetime_token=lifetime.token)
    return ctx


def reads(lifetime: FakeLifeTime) -> list[str]:
    return [path for method, path in lifetime.calls if method == "GET"]


def test_one_call_per_round_and_labels_follow_lifetime(
    watched: ServiceContext, lifetime: FakeLifeTime
) -> None:
    watch = LifeTimeWatch(watched, EVERY)
    report = watch.poll()
    assert report.asked == 1 and report.observed == 4 and report.suggestions == []
    assert reads(lifetime) == ["/applications/", "/environments/"]

    shop = next(g for g in lifetime_watch.watched_groups(watched).values())[0]
    labels = lifetime_watch.lifetime_labels(watched, shop.application_id)
    assert labels == {
        "Production": "3.2",
        "Pre-Production": "3.2",
        "Quality Assurance": "3.2",
        "Development": "3.3+",
    }
    before = len(lifetime.calls)
    watch.poll()
    assert reads(lifetime)[before:] == ["/applications/"]  # environments are remembered


def test_untagged_change_in_preprod_is_suggested_once(
    watched: ServiceContext, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watch = LifeTimeWatch(watched, EVERY)
    watch.poll()
    lifetime.publish_module("Shop", "Pre-Production", "Pricing")
    clock.advance(minutes=2)
    first = watch.poll().suggestions
    assert len(first) == 1
    assert first[0].modules == ("Pricing",)
    assert first[0].application == "Shop" and first[0].channel == "C0SHOP"
    assert first[0].since == clock.current and first[0].version == "3.2"

    clock.advance(minutes=2)
    before = len(lifetime.calls)
    assert watch.poll().suggestions == []  # the same change: never repeated
    assert reads(lifetime)[before:] == ["/applications/"]  # and no extra calls

    lifetime.publish_module("Shop", "Pre-Production", "Search")
    clock.advance(minutes=2)
    second = watch.poll().suggestions
    assert [s.modules for s in second] == [("Pricing", "Search")]  # a new change, told again


def test_dismissed_change_is_recorded_and_not_suggested_again(
    watched: ServiceContext, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watch = LifeTimeWatch(watched, EVERY)
    lifetime.publish_module("Shop", "Pre-Production", "Cart")
    [told] = watch.poll().suggestions
    ana = Actor(user_id="U0ANA")
    with pytest.raises(InvalidInput):
        lifetime_watch.dismiss(watched, ana, told.id, "  ")
    with pytest.raises(PermissionDenied):  # not an owner, approver or admin of Shop
        lifetime_watch.dismiss(watched, Actor(user_id="U0NOBODY"), told.id, "not mine")
    lifetime_watch.dismiss(
        watched, ana, told.id, "config tweak, tagged next release", request_key="k1"
    )
    with pytest.raises(AlreadyApplied):  # a Slack retry of the same submission
        lifetime_watch.dismiss(watched, ana, told.id, "config tweak", request_key="k1")
    with pytest.raises(Refused):  # a second person's answer applies nothing either
        lifetime_watch.dismiss(watched, Actor(user_id="U0LEE"), told.id, "double click")
    with watched.db.read() as repository:
        events = repository.session.exec(
            select(Event).where(Event.kind == "lifetime_change_dismissed")
        ).all()
    assert len(events) == 1 and "config tweak" in events[0].details
    clock.advance(minutes=2)
    assert watch.poll().suggestions == []
    assert not lifetime_watch.still_worth_telling(watched, told.id)  # recorded, never sent


def test_no_suggestion_while_a_hotfix_is_open_or_versions_differ(
    watched: ServiceContext, lifetime: FakeLifeTime
) -> None:
    lifetime.set_running("Shop", "Pre-Production", "3.1", modified=True)  # not Production's
    assert LifeTimeWatch(watched, EVERY).poll().suggestions == []
    lifetime.set_running("Shop", "Pre-Production", "3.2")
    lifetime.publish_module("Shop", "Pre-Production", "Cart")
    with watched.db.write() as repository:
        app = repository.application_by_name("Shop")
        assert app is not None and app.id is not None
        repository.add(
            Hotfix(
                application_id=app.id,
                summary="cart total wrong",
                severity="high",
                state="open",
                opened_by="U0ANA",
                opened_at=watched.now(),
                base_version="3.2",
            )
        )
    assert LifeTimeWatch(watched, EVERY).poll().suggestions == []


def test_lifetime_down_backs_off_logs_once_and_changes_nothing(
    watched: ServiceContext,
    lifetime: FakeLifeTime,
    clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = LifeTimeWatch(watched, EVERY)
    watch.poll()
    shop = next(g for g in lifetime_watch.watched_groups(watched).values())[0]
    labels = lifetime_watch.lifetime_labels(watched, shop.application_id)
    lifetime.fail_next("GET", "/applications/", 503, times=24)  # 4 + 20 tries below
    caplog.set_level(logging.INFO, logger="commands.lifetime_watch")
    asked = 0
    for _ in range(10):
        clock.advance(seconds=120)
        asked += watch.poll().asked
    # 120 s, then 240, 480, 960: four tries in twenty minutes, not ten
    assert asked == 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "backs off" in warnings[0].getMessage()
    assert lifetime.base_url in watch.problems()
    assert lifetime_watch.lifetime_labels(watched, shop.application_id) == labels
    with watched.db.read() as repository:
        assert repository.active_hotfix(shop.application_id) is None

    for _ in range(20):  # capped: it never waits longer than BACKOFF_CAP
        clock.advance(minutes=31)
        assert watch.poll().asked == 1
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    clock.advance(minutes=31)
    assert watch.poll().asked == 1 and watch.problems() == {}


# --------------------------------------------------------------------------- in Slack


@pytest.fixture
def bot(watched: ServiceContext) -> Iterator[Bot]:
    with LocalSlackStack(watched, admins=["U0ADMIN"]) as stack:
        yield Bot(stack)


def watcher_of(bot: Bot) -> LifeTimeWatcher:
    assert bot.stack.services is not None and bot.stack.services.watcher is not None
    return bot.stack.services.watcher


def test_the_home_channel_is_told_once_and_open_hotfix_fills_in_the_modules(
    bot: Bot, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watcher = watcher_of(bot)
    lifetime.publish_module("Shop", "Pre-Production", "Pricing")
    assert len(watcher.run()) == 1
    clock.advance(minutes=2)
    assert watcher.run() == []
    posted = [m for m in bot.slack.messages("C0SHOP") if not m.is_reply]
    assert len(posted) == 1
    text = bot.living_text("C0SHOP")
    assert "Pricing" in text and "Pre-Production" in text and "3.2" in text
    assert bot.buttons("C0SHOP") == {ids.OPEN_FROM_CHANGE, ids.NOT_A_HOTFIX}

    bot.click(ANA, ids.OPEN_FROM_CHANGE, channel="C0SHOP")
    bot.wait_until(lambda: bot.slack.latest_view(ids.OPEN_MODAL, ANA) is not None, "the modal")
    modal = bot.slack.latest_view(ids.OPEN_MODAL, ANA)
    assert modal is not None
    modules = find_element(modal["blocks"], ids.MODULES_INPUT[1])
    application = find_element(modal["blocks"], ids.APPLICATION_INPUT[1])
    assert modules["initial_value"] == "Pricing"
    assert application["initial_option"]["value"] == "Shop"
    # Submitting it opens the hotfix on the untagged changes LifeTime showed: they are the fix,
    # so the `+` that refuses a plain open (below) does not refuse this one, nor is it forced.
    plain = hotfix_form(bot, ANA, "Shop", "Pricing", private_metadata=None, use_latest=False)
    assert "carries untagged changes" in str(plain.get("errors")), plain
    assert hotfix_form(bot, ANA, "Shop", "Pricing") == {}
    bot.wait_until(lambda: "HF-1" in bot.living_text("C0SHOP"), "the living message")
    [red] = queries.red_hotfixes(bot.stack.ctx)
    assert red.ref == "HF-1" and not red.forced


def hotfix_form(
    bot: Bot,
    user: str,
    application: str,
    modules: str,
    *,
    private_metadata: str | None = None,
    use_latest: bool = True,
) -> dict[str, Any]:
    """Submits the open form: the modal the button opened, or (``use_latest=False``) the plain
    one `/hotfix open` would open."""
    values = {
        ids.APPLICATION_INPUT[0]: {ids.APPLICATION_INPUT[1]: static_select(application)},
        ids.MODULES_INPUT[0]: {ids.MODULES_INPUT[1]: text_input(modules)},
        ids.SUMMARY_INPUT[0]: {ids.SUMMARY_INPUT[1]: text_input("Totals are wrong")},
        ids.SEVERITY_INPUT[0]: {ids.SEVERITY_INPUT[1]: static_select("high")},
    }
    metadata = private_metadata
    if not use_latest:
        metadata = ids.ModalContext("open", channel="C0SHOP").encode()
    reply = bot.driver.view_submission(user, ids.OPEN_MODAL, values, private_metadata=metadata)
    assert reply.status == 200
    return reply.json or {}


def test_not_a_hotfix_asks_why_records_it_and_says_so_in_the_thread(
    bot: Bot, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watcher = watcher_of(bot)
    lifetime.publish_module("Shop", "Pre-Production", "Cart")
    watcher.run()
    bot.click(RAJ, ids.NOT_A_HOTFIX, channel="C0SHOP")
    bot.wait_until(lambda: bot.slack.latest_view(ids.REASON_MODAL, RAJ) is not None, "modal")
    empty = bot.driver.view_submission(
        RAJ, ids.REASON_MODAL, {ids.REASON_INPUT[0]: {ids.REASON_INPUT[1]: text_input("")}}
    )
    assert empty.json.get("response_action") == "errors"
    done = bot.driver.view_submission(
        RAJ,
        ids.REASON_MODAL,
        {ids.REASON_INPUT[0]: {ids.REASON_INPUT[1]: text_input("a log level, tagged with 3.3")}},
    )
    assert done.status == 200 and not done.json
    bot.wait_until(
        lambda: any("not a hotfix" in t for t in bot.thread_texts("C0SHOP")), "the thread line"
    )
    with bot.stack.ctx.db.read() as repository:
        events = repository.session.exec(
            select(Event).where(Event.kind == "lifetime_change_dismissed")
        ).all()
    assert len(events) == 1 and events[0].actor == RAJ
    clock.advance(minutes=2)
    assert watcher.run() == []
    assert len([m for m in bot.slack.messages("C0SHOP") if not m.is_reply]) == 1


def test_readyz_details_say_lifetime_is_down_without_failing_readiness(
    bot: Bot, lifetime: FakeLifeTime
) -> None:
    lifetime.fail_next("GET", "/applications/", 503, times=1)
    watcher_of(bot).run()
    assert bot.stack.services is not None
    ready, checks = bot.stack.services.health.readiness()
    assert "lifetime_watch" in checks and "unreachable or refusing" in checks["lifetime_watch"]
    assert checks["database"] == "ok"
    assert ready == all(v == "ok" for k, v in checks.items() if k != "lifetime_watch")


def find_element(blocks: list[dict[str, object]], action_id: str) -> dict[str, object]:
    for block in blocks:
        element = block.get("element")
        if isinstance(element, dict) and element.get("action_id") == action_id:
            return element
    raise AssertionError(f"no {action_id} in the modal")


def test_the_pipeline_shows_lifetimes_plus_and_the_difference(
    watched: ServiceContext, lifetime: FakeLifeTime
) -> None:
    watch = LifeTimeWatch(watched, EVERY)
    watch.poll()
    [shop] = [a for a in queries.applications(watched) if a.name == "Shop"]
    assert not any(line.lifetime_differs for line in shop.pipeline)  # the bot agrees
    lifetime.publish_module("Shop", "Pre-Production", "Cart")
    watch.poll()
    [shop] = [a for a in queries.applications(watched) if a.name == "Shop"]
    lines = {line.name: line for line in shop.pipeline}
    assert lines["Pre-Production"].lifetime == "3.2+"
    assert lines["Pre-Production"].shown_version == "3.2"  # what the bot recorded
    assert [n for n, line in lines.items() if line.lifetime_differs] == ["Pre-Production"]
    code = views.text.pipeline_code(shop.pipeline, with_fix=False)
    assert "(LifeTime: 3.2+)" in code
    assert "LifeTime" not in code.split("Pre-Production")[0]  # Production agrees: no note


def follow_until(bot: Bot, clock: MovableClock, done: Callable[[], bool]) -> None:
    assert bot.stack.services is not None
    for _ in range(10):
        bot.stack.services.follower.follow()
        if done():
            return
        clock.advance(seconds=6)
    raise AssertionError("the deployment did not get there")


def test_evidence_after_the_deploy_shows_on_the_item_and_owners_are_told_once(
    bot: Bot, watched: ServiceContext, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watcher = watcher_of(bot)
    watcher.run()
    bot.command(ANA, "open Shop Cart Totals are wrong")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)

    def propagating() -> bool:
        return queries.hotfix_status(watched, "HF-1").state is HotfixState.PROPAGATING

    follow_until(bot, clock, propagating)
    watcher.run()  # LifeTime now says Production and Pre-Production run 3.2.1
    clock.advance(minutes=2)
    lifetime.publish_module("Shop", "Quality Assurance", "Cart")
    # The first owner's DM fails: the outbox keeps it and the sweep sends it (at least once).
    bot.slack.fail_next("conversations.open", error="fatal_error")
    watcher.run()

    def told_owners() -> list[object]:
        return [
            call
            for call in bot.slack.calls("chat.postMessage")
            if "LifeTime shows a new Cart" in str(call.params.get("text"))
        ]

    assert len(told_owners()) == 1
    clock.advance(minutes=2)
    watcher.run()  # the same publication: nobody is told twice
    bot.stack.services.deliverer.sweep()

    hotfix = queries.hotfix_status(watched, "HF-1")
    [qa_cart] = [i for i in hotfix.checklist if i.environment == "Quality Assurance"]
    assert qa_cart.evidence_at is not None and qa_cart.status is ItemStatus.PENDING
    bot.wait_living("new Cart published in Quality Assurance")
    assert len(told_owners()) == 2  # one DM to each owner (Ana, Raj), once

    for environment in ("Quality Assurance", "Development"):
        value = ids.ButtonValue("HF-1", environment, "Cart").encode()
        bot.click(RAJ, ids.MERGED, value_contains=value)
        bot.wait_until(
            lambda where=environment: all(  # type: ignore[misc]
                i.status is ItemStatus.MERGED
                for i in queries.hotfix_status(watched, "HF-1").checklist_of(where)
            ),
            f"Cart merged in {environment}",
        )
    hotfix = queries.hotfix_status(watched, "HF-1")
    [dev_cart] = [i for i in hotfix.checklist if i.environment == "Development"]
    assert dev_cart.evidence_at is None
    assert "merged by" in done_item(dev_cart, True)
    assert "no LifeTime evidence" in done_item(dev_cart, True)
    [qa_cart] = [i for i in hotfix.checklist if i.environment == "Quality Assurance"]
    assert "merged by" in done_item(qa_cart, True)
    assert "published in Quality Assurance" in done_item(qa_cart, True)


@pytest.mark.parametrize(
    ("recorded", "changes", "lifetime", "differs"),
    [
        ("1.7.0", False, "1.7", False),
        ("1.7.0", False, "1.7+", True),
        ("1.7.0", True, "1.7.0+", False),
        ("1.7.0", False, "1.7.1", True),
        ("1.7.0", False, "untagged", True),
        ("1.7.0", False, None, False),
    ],
)
def test_a_difference_is_a_different_version_or_plus(
    recorded: str, changes: bool, lifetime: str | None, differs: bool
) -> None:
    line = EnvironmentLine("QA", "qa", recorded, changes, red=False, lifetime=lifetime)
    assert line.lifetime_differs is differs


def test_a_suggestion_slack_refused_is_sent_by_the_outbox_sweep_once(
    bot: Bot, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watcher = watcher_of(bot)
    # Slack answers ok=false with a documented chat.postMessage error: no client retry.
    bot.slack.fail_next("chat.postMessage", error="fatal_error")
    lifetime.publish_module("Shop", "Pre-Production", "Pricing")
    assert len(watcher.run()) == 1
    assert [m for m in bot.slack.messages("C0SHOP") if not m.is_reply] == []
    clock.advance(minutes=1)  # past the first back-off
    bot.stack.services.deliverer.sweep()
    clock.advance(minutes=2)
    assert watcher.run() == []  # found once: the next rounds record nothing new
    bot.stack.services.deliverer.sweep()
    posted = [m for m in bot.slack.messages("C0SHOP") if not m.is_reply]
    assert len(posted) == 1 and "Pricing" in posted[0].text


def test_a_suggestion_is_not_sent_once_a_hotfix_is_open(
    bot: Bot, lifetime: FakeLifeTime, clock: MovableClock
) -> None:
    watcher = watcher_of(bot)
    bot.slack.fail_next("chat.postMessage", error="fatal_error")
    lifetime.publish_module("Shop", "Pre-Production", "Cart")
    [found] = watcher.run()
    # Opened on the untagged changes themselves, as the suggestion's Open hotfix does.
    hotfixes.open_hotfix(
        bot.stack.ctx,
        Actor(user_id=ANA),
        "Shop",
        ["Cart"],
        "Totals are wrong",
        untagged_changes_are_the_fix=True,
    )
    clock.advance(minutes=1)
    bot.stack.services.deliverer.sweep()
    assert not lifetime_watch.still_worth_telling(bot.stack.ctx, found.id)
    texts = [m.text for m in bot.slack.messages("C0SHOP") if not m.is_reply]
    assert not any("untagged changes" in text for text in texts)


def test_a_suggestion_posted_right_before_the_process_died_is_not_posted_again(
    bot: Bot, lifetime: FakeLifeTime, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The post reached Slack; neither its ts nor its delivery was recorded (the process died).
    The next sweep finds it by its message metadata and keeps its ts instead of posting again."""
    watcher = watcher_of(bot)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed")

    with monkeypatch.context() as patched:
        patched.setattr(outbox, "finish_unattached", killed)
        patched.setattr(lifetime_watch, "mark_posted", lambda *args, **kwargs: None)
        lifetime.publish_module("Shop", "Pre-Production", "Pricing")
        with pytest.raises(RuntimeError, match="killed"):
            watcher.run()
    [posted] = [m for m in bot.slack.messages("C0SHOP") if not m.is_reply]
    clock.advance(seconds=bot.stack.ctx.outbox.lease.total_seconds() + 1)
    bot.stack.services.deliverer.sweep()
    assert [m.ts for m in bot.slack.messages("C0SHOP") if not m.is_reply] == [posted.ts]
    assert bot.slack.last("conversations.history").params["channel"] == "C0SHOP"
    with bot.stack.ctx.db.read() as repository:
        suggestions = repository.session.exec(select(LifeTimeSuggestion)).all()
        lines = repository.outbox_rows()
    assert [(s.channel, s.ts) for s in suggestions] == [("C0SHOP", posted.ts)]
    assert lines and all(line.delivered_at is not None for line in lines)
