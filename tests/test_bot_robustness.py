"""Security, retries, double clicks, slow or failing Slack, modals and App Home."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from bot import ids
from commands import queries
from commands.context import ServiceContext
from commands.lifecycle import HotfixState
from standin.slack_client import static_select, text_input
from tests.bot_support import ANA, HOME, INCIDENT, LEE, RAJ, Bot, running
from tests.support import dump


@pytest.fixture
def bot(ctx: ServiceContext) -> Iterator[Bot]:
    with running(ctx) as bot:
        yield bot


def deployed(bot: Bot) -> None:
    bot.command(ANA, "open eCommerce Checkout Payment fails")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "approve button")
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "merge buttons")


def test_healthz_says_the_process_is_alive(bot: Bot) -> None:
    assert bot.stack.server is not None
    with urllib.request.urlopen(f"{bot.stack.server.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"alive": True}


@pytest.mark.parametrize("signature", ["forged", "stale", "missing"])
def test_unsigned_forged_or_stale_requests_get_401_and_change_nothing(
    bot: Bot, ctx: ServiceContext, signature: str
) -> None:
    before = dump(ctx.db.engine)
    reply = bot.driver.slash_command(
        ANA, "open eCommerce Checkout broken", channel_id=INCIDENT, signature=signature
    )
    assert reply.status == 401
    assert dump(ctx.db.engine) == before
    assert bot.slack.calls("chat.postMessage") == []


def test_a_slack_retry_of_a_command_applies_once(bot: Bot, ctx: ServiceContext) -> None:
    first = bot.command(ANA, "open eCommerce Checkout broken", trigger_id="trigger-1")
    bot.wait_living("HF-1")
    retry = bot.command(ANA, "open eCommerce Checkout broken", trigger_id="trigger-1", retry_num=1)
    assert first.status == retry.status == 200
    bot.wait_until(lambda: len(bot.slack.calls("chat.postMessage")) >= 3, "thread lines")
    assert len(queries.red_hotfixes(ctx)) == 1
    assert len([m for m in bot.slack.messages(INCIDENT) if not m.is_reply]) == 1
    assert not any("already" in text for text in bot.private_replies(ANA))


def test_a_retried_click_and_a_double_click_apply_once(bot: Bot, ctx: ServiceContext) -> None:
    deployed(bot)
    first = bot.click(RAJ, ids.MERGED, value_contains="Quality Assurance", action_ts="1.000001")
    assert first.status == 200
    message_before = bot.living_message()
    value = ids.ButtonValue("HF-1", "Quality Assurance", "Checkout").encode()
    retry = bot.driver.block_action(
        RAJ,
        "hotfix_merged:0",
        value,
        INCIDENT,
        message_before.ts,
        action_ts="1.000001",
        retry_num=1,
    )
    assert retry.status == 200
    second = bot.driver.block_action(RAJ, "hotfix_merged:0", value, INCIDENT, message_before.ts)
    assert second.status == 200
    bot.wait_private(RAJ, "already merged")
    _, events = queries.history(ctx, "HF-1")
    assert [e.kind for e in events].count("merged") == 1


def test_the_ack_does_not_wait_for_a_slow_web_api(bot: Bot, ctx: ServiceContext) -> None:
    bot.slack.delay("chat.postMessage", 4.0)
    reply = bot.command(ANA, "open eCommerce Checkout broken")
    assert reply.status == 200
    # Slack's limit is 3 s; the reply came back before the first slow post could finish.
    assert reply.elapsed < 3.0
    assert bot.slack.calls("chat.postMessage") == [], "the reply came before any post finished"
    bot.wait_until(lambda: len(queries.red_hotfixes(ctx)) == 1, "the hotfix")
    bot.slack.delay("chat.postMessage", 0)


def test_web_api_5xx_and_429_are_retried(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", status=500)
    bot.slack.fail_next("chat.update", status=429, retry_after=1)
    deployed(bot)
    statuses = [c.status for c in bot.slack.calls("chat.postMessage")[:2]]
    assert statuses == [500, 200]
    assert 429 in [c.status for c in bot.slack.calls("chat.update")]
    assert "1.7.1" in bot.living_text()


def test_a_message_that_cannot_be_updated_now_is_repaired_on_the_next_change(
    bot: Bot, ctx: ServiceContext
) -> None:
    deployed(bot)
    updates_before = len(bot.slack.calls("chat.update"))
    bot.slack.fail_next("chat.update", error="internal_error", times=2)  # both channels
    bot.click(RAJ, ids.MERGED, value_contains="Quality Assurance")
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").active_environment == "Development",
        "the merge saved",
    )
    bot.wait_until(
        lambda: len(bot.slack.calls("chat.update")) == updates_before + 2, "two failed updates"
    )
    assert all(not call.ok for call in bot.slack.calls("chat.update")[-2:])
    stale = bot.living_text()
    assert "Quality Assurance checklist" in stale or "merging now" in stale
    bot.command(RAJ, "merged HF-1 dev Checkout")
    bot.wait_until(lambda: bot.buttons() == {ids.SOLVE}, "the repaired message")
    bot.wait_until(lambda: bot.buttons(HOME) == {ids.SOLVE}, "the repaired home message")


def test_open_modal(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, "open")
    opened = bot.slack.wait_for("views.open")[0]
    assert opened.params["view"]["callback_id"] == ids.OPEN_MODAL
    bad = bot.driver.view_submission(
        ANA,
        ids.OPEN_MODAL,
        {
            ids.APPLICATION_INPUT[0]: {ids.APPLICATION_INPUT[1]: static_select("eCommerce")},
            ids.MODULES_INPUT[0]: {ids.MODULES_INPUT[1]: text_input("Chekout")},
            ids.SUMMARY_INPUT[0]: {ids.SUMMARY_INPUT[1]: text_input("Payment fails")},
            ids.SEVERITY_INPUT[0]: {ids.SEVERITY_INPUT[1]: static_select("critical")},
        },
    )
    assert bad.json["response_action"] == "errors"
    assert "Did you mean 'Checkout'" in bad.json["errors"][ids.MODULES_INPUT[0]]
    assert queries.red_hotfixes(ctx) == []
    bot.command(ANA, "open")
    bot.slack.wait_for("views.open", count=2)
    good = bot.driver.view_submission(
        ANA,
        ids.OPEN_MODAL,
        {
            ids.APPLICATION_INPUT[0]: {ids.APPLICATION_INPUT[1]: static_select("eCommerce")},
            ids.MODULES_INPUT[0]: {ids.MODULES_INPUT[1]: text_input("Checkout, Payments")},
            ids.SUMMARY_INPUT[0]: {ids.SUMMARY_INPUT[1]: text_input("Payment fails")},
            ids.SEVERITY_INPUT[0]: {ids.SEVERITY_INPUT[1]: static_select("critical")},
            ids.OWNERS_INPUT[0]: {ids.OWNERS_INPUT[1]: [RAJ]},
        },
    )
    assert good.status == 200 and not good.body
    bot.wait_living("HF-1")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert hotfix.modules == ("Checkout", "Payments")
    assert hotfix.owners == (RAJ,)
    assert hotfix.severity.value == "critical"


def reason_submission(bot: Bot, user: str, reason: str) -> dict:
    reply = bot.driver.view_submission(
        user, ids.REASON_MODAL, {ids.REASON_INPUT[0]: {ids.REASON_INPUT[1]: text_input(reason)}}
    )
    assert reply.status == 200
    return reply.json or {}


def test_reject_skip_and_cancel_ask_for_a_reason(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, "open eCommerce Checkout,Payments broken")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.wait_until(lambda: ids.REJECT in bot.buttons(), "reject button")
    bot.click(LEE, ids.REJECT)
    bot.slack.wait_for("views.open")
    assert reason_submission(bot, LEE, " ")["response_action"] == "errors"
    assert reason_submission(bot, LEE, "tests are red") == {}
    bot.wait_until(lambda: queries.hotfix_status(ctx, "HF-1").state is HotfixState.OPEN, "rejected")
    bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "deploy button back")

    bot.click(ANA, ids.DEPLOY_OTHER_VERSION)
    bot.slack.wait_for("views.open", count=2)
    low = bot.driver.view_submission(
        ANA, ids.VERSION_MODAL, {ids.VERSION_INPUT[0]: {ids.VERSION_INPUT[1]: text_input("1.7.0")}}
    )
    assert "not above Production's 1.7.0" in low.json["errors"][ids.VERSION_INPUT[0]]
    bot.click(ANA, ids.DEPLOY_OTHER_VERSION)
    bot.slack.wait_for("views.open", count=3)
    good = bot.driver.view_submission(
        ANA, ids.VERSION_MODAL, {ids.VERSION_INPUT[0]: {ids.VERSION_INPUT[1]: text_input("1.7.5")}}
    )
    assert good.status == 200
    bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "approve button")
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: ids.SKIP in bot.buttons(), "skip buttons")
    assert queries.hotfix_status(ctx, "HF-1").deployed_version == "1.7.5"

    bot.click(RAJ, ids.SKIP, value_contains="Payments")
    bot.slack.wait_for("views.open", count=4)
    assert reason_submission(bot, RAJ, "Payments is not deployed in QA") == {}
    bot.wait_until(
        lambda: any(
            i.status.value == "skipped" for i in queries.hotfix_status(ctx, "HF-1").checklist
        ),
        "skipped",
    )

    bot.command(RAJ, "open eCommerce Catalog other")  # refused: HF-1 is unsolved
    bot.wait_private(RAJ, "already has an unsolved hotfix")


def test_cancel_button(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, "open eCommerce Checkout broken")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.CANCEL)
    bot.slack.wait_for("views.open")
    assert reason_submission(bot, ANA, "false alarm") == {}
    bot.wait_until(lambda: bot.buttons() == set(), "no buttons once cancelled")
    assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.CANCELLED


def test_app_home_shows_red_hotfixes_and_pipelines(bot: Bot) -> None:
    bot.command(ANA, "open eCommerce Checkout Payment fails")
    bot.wait_living("HF-1")
    bot.driver.app_home_opened(RAJ)
    published = bot.slack.wait_for("views.publish")[0]
    assert published.params["user_id"] == RAJ
    home = json.dumps(published.params["view"])
    assert published.params["view"]["type"] == "home"
    assert "HF-1" in home and "Payment fails" in home
    assert "Back Office" in home and "2.4.0+" in home
