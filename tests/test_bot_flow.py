"""The Slack bot end to end: real HTTP server, signed requests, the local Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import ids
from commands import queries
from commands.context import ServiceContext
from commands.lifecycle import HotfixState
from tests.bot_support import ANA, HOME, INCIDENT, KIM, LEE, RAJ, STRANGER, Bot, running


@pytest.fixture
def bot(ctx: ServiceContext) -> Iterator[Bot]:
    with running(ctx) as bot:
        yield bot


def open_checkout(bot: Bot) -> None:
    bot.command(ANA, "open eCommerce Checkout Payment fails for saved cards")
    bot.wait_living("HF-1")


def test_the_seed_scenario_in_slack(bot: Bot, ctx: ServiceContext) -> None:
    open_checkout(bot)
    text = bot.living_text()
    assert "Payment fails for saved cards" in text and "1.7.0+" in text
    assert bot.buttons() == {ids.DEPLOY, ids.DEPLOY_OTHER_VERSION, ids.CANCEL}
    assert "Tag & Deploy 1.7.1" in text
    # Also posted in the application's home channel.
    assert "HF-1" in bot.wait_living("HF-1", channel=HOME)
    bot.wait_private(ANA, "HF-1")

    bot.click(ANA, ids.DEPLOY)
    bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "the approve button")
    assert bot.buttons() == {ids.APPROVE, ids.REJECT}

    bot.click(ANA, ids.APPROVE)
    bot.wait_private(ANA, "another person must approve")
    assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.AWAITING_APPROVAL

    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "the merge buttons")
    assert bot.buttons() == {ids.MERGED, ids.SKIP}
    assert "1.7.1" in bot.living_text()

    bot.click(RAJ, ids.MERGED, value_contains="Quality Assurance")
    bot.wait_living("Development")
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").active_environment == "Development",
        "Development to be active",
    )
    bot.click(RAJ, ids.MERGED, value_contains="Development")
    bot.wait_until(lambda: bot.buttons() == {ids.SOLVE}, "the solve button")

    bot.click(RAJ, ids.SOLVE)
    bot.wait_until(lambda: bot.buttons() == set(), "no buttons once solved")
    assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.SOLVED
    assert "solved" in bot.living_text().lower()
    # One message per channel, updated in place; the thread tells the story.
    assert len([m for m in bot.slack.messages(INCIDENT) if not m.is_reply]) == 1
    bot.wait_until(lambda: len(bot.thread_texts()) == 6, "six thread lines")
    thread = bot.thread_texts()
    assert "opened" in thread[0] and "marked the hotfix as solved" in thread[-1]
    # The home channel's copy was updated too.
    bot.wait_until(lambda: "solved" in bot.living_text(HOME).lower(), "home channel updated")


def test_every_read_subcommand(bot: Bot) -> None:
    open_checkout(bot)
    for text, expected in [
        ("help", "merged <hotfix-id> <environment> <module>"),
        ("status HF-1", "Pre-Production"),
        ("status ecommerce", "1.7.0+"),
        ("status", "HF-1"),
        ("list", "Payment fails for saved cards"),
        ("history hf-1", "opened"),
        ("apps", "Back Office"),
        ("", "deploy <hotfix-id>"),
    ]:
        bot.slack.reset()
        bot.command(STRANGER, text)
        bot.wait_private(STRANGER, expected)


def test_every_change_subcommand(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, 'open "eCommerce" Checkout,Payments Payment fails')
    bot.wait_private(ANA, "HF-1")
    bot.command(ANA, "deploy HF-1 1.7.4")
    bot.wait_private(ANA, "requested Tag & Deploy 1.7.4")
    bot.click(KIM, ids.APPROVE)
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "merge buttons")
    bot.command(RAJ, "merged HF-1 qa checkout")
    bot.wait_private(RAJ, "merged Checkout into Quality Assurance")
    bot.command(RAJ, "skip HF-1 QA Payments QA is rebuilt tonight")
    bot.wait_private(RAJ, "skipped Payments in Quality Assurance: QA is rebuilt tonight")
    bot.command(RAJ, "merged HF-1 dev Checkout")
    bot.wait_private(RAJ, "merged Checkout into Development")
    bot.command(RAJ, "skip HF-1 dev Payments not deployed there")
    bot.wait_private(RAJ, "skipped Payments")
    bot.command(RAJ, "solve HF-1")
    bot.wait_private(RAJ, "marked the hotfix as solved")
    assert queries.hotfix_status(ctx, "HF-1").deployed_version == "1.7.4"

    bot.command(RAJ, "open eCommerce Catalog Prices wrong")
    bot.wait_private(RAJ, "HF-2")
    bot.command(RAJ, "cancel HF-2 duplicate of HF-1")
    bot.wait_private(RAJ, "cancelled the hotfix: duplicate of HF-1")
    assert queries.hotfix_status(ctx, "HF-2").state is HotfixState.CANCELLED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deploi HF-1", "Did you mean `deploy`"),
        ("merged HF-1 qa", "usage: `/hotfix merged <hotfix-id> <environment> <module>`"),
        ("deploy HF-77", "There is no hotfix HF-77"),
        ("open Shop Checkout x", "There is no application 'Shop'"),
        ("open eCommerce Chekout broken", "Did you mean 'Checkout'"),
        ("deploy HF-1 1.7.x", "'1.7.x' is not a version"),
        ("deploy HF-1 1.6.0", "1.6.0 is not above Production's 1.7.0"),
        ("solve HF-1", "not deployed to Production yet"),
        ("app owners eCommerce ana", "`ana` is not a Slack user"),
    ],
)
def test_bad_input_gets_a_specific_private_answer_and_changes_nothing(
    bot: Bot, ctx: ServiceContext, text: str, expected: str
) -> None:
    open_checkout(bot)
    events_before = len(queries.history(ctx, "HF-1")[1])
    bot.command(ANA, text)
    bot.wait_private(ANA, expected)
    assert len(queries.history(ctx, "HF-1")[1]) == events_before
    assert len(queries.red_hotfixes(ctx)) == 1


def test_permissions(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(STRANGER, "open eCommerce Checkout broken")
    bot.wait_private(STRANGER, "Only the owners and approvers")
    assert queries.red_hotfixes(ctx) == []
    open_checkout(bot)
    bot.click(STRANGER, ids.DEPLOY)
    bot.wait_private(STRANGER, "Only the owners and approvers")
    bot.command(ANA, "app add Mobile Api,App 0.3.0")
    bot.wait_private(ANA, "Only an admin may add an application")
    bot.command("U0ADMIN", "app add Mobile Api,App 0.3.0")
    bot.wait_private("U0ADMIN", "Added Mobile at 0.3.0")
    bot.command("U0ADMIN", "app owners Mobile <@U0ANA|ana> <@U0RAJ>")
    bot.wait_private("U0ADMIN", "Mobile owners: <@U0ANA> <@U0RAJ>")
    bot.command("U0ADMIN", "app approvers mobile <@U0LEE>")
    bot.wait_private("U0ADMIN", "Mobile approvers: <@U0LEE>")
    bot.command(ANA, "open Mobile Api Crash on start")
    bot.wait_private(ANA, "HF-2")
