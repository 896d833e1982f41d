"""Slack's real input, over signed HTTP: text as Slack escapes it, mentions and links in what
people type, names holding `|`, `&`, `<`, mistyped subcommands and refusals in a form.

Slack sends `&`, `<` and `>` typed in a slash command as `&amp;`, `&lt;` and `&gt;`, and a
mention or link as `<@U…|name>` / `<https://…|label>` (the manifest sets `should_escape`);
https://api.slack.com/reference/surfaces/formatting#escaping. The texts below are written the
way Slack sends them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from commands import applications, queries
from commands.context import ServiceContext
from commands.lifecycle import HotfixState, ItemStatus
from standin.slack_client import static_select, text_input
from tests.bot_support import ANA, LEE, RAJ, STRANGER, Bot, running
from tests.conftest import ADMIN

RD_CATALOG = """\
applications:
  - name: R&D Portal
    owners: [U0ANA, U0RAJ]
    approvers: [U0LEE]
    require_approval: true
    modules: ["Pay|ments", "A&B <core>"]
    versions: {prod: 3.2.0, preprod: 3.2.0, qa: 3.2.0, dev: 3.3.0+}
"""


@pytest.fixture
def bot(ctx: ServiceContext, tmp_path: Path) -> Iterator[Bot]:
    path = tmp_path / "rd.yaml"
    path.write_text(RD_CATALOG)
    applications.load_catalog(ctx, ADMIN, path)
    with running(ctx) as bot:
        yield bot


def header_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "header"]


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> str:
    found = []
    for block in blocks:
        for text in [block.get("text"), *block.get("elements", [])]:
            if isinstance(text, dict) and text.get("type") == "mrkdwn":
                found.append(text["text"])
    return "\n".join(found)


def test_names_with_ampersands_match_as_slack_escapes_them(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(STRANGER, 'status "R&amp;D Portal"')
    reply = bot.wait_private(STRANGER, "R&D Portal")
    assert "There is no application" not in reply and "3.2.0" in reply
    bot.command(STRANGER, "status r&amp;d portal")  # unquoted and any case, as before
    bot.wait_private(STRANGER, "No hotfix yet")

    bot.command(
        ANA, 'open "R&amp;D Portal" "A&amp;B &lt;core&gt;" Login &amp; logout &lt;broken&gt;'
    )
    bot.wait_private(ANA, "HF-1")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert hotfix.application == "R&D Portal"
    assert hotfix.modules == ("A&B <core>",)
    assert hotfix.summary == "Login & logout <broken>"
    # Shown escaped once in mrkdwn, as written in plain text.
    message = bot.living_message()
    assert "Login & logout <broken>" in header_texts(message.blocks)[0]
    assert "&amp;amp;" not in json.dumps(message.blocks)


def test_a_module_named_with_a_bar_is_merged_by_its_button(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, 'open "R&amp;D Portal" "Pay|ments,A&amp;B &lt;core&gt;" Refunds fail')
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "the approve button")
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "the merge buttons")
    value = ids.ButtonValue("HF-1", "Quality Assurance", "Pay|ments").encode()
    assert value == '{"hotfix":"HF-1","environment":"Quality Assurance","module":"Pay|ments"}'

    bot.click(RAJ, ids.MERGED, value_contains=value)
    bot.wait_until(
        lambda: (
            queries.hotfix_status(ctx, "HF-1").checklist_of("Quality Assurance")[0].status
            is ItemStatus.MERGED
        ),
        "Pay|ments merged into Quality Assurance",
    )
    items = {
        i.module: i.status
        for i in queries.hotfix_status(ctx, "HF-1").checklist_of("Quality Assurance")
    }
    assert items == {"Pay|ments": ItemStatus.MERGED, "A&B <core>": ItemStatus.PENDING}
    # The other module, by its button too: its value carries `&`, `<`, `>` as they are.
    bot.click(RAJ, ids.MERGED, value_contains='"module":"A&B <core>"')
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").active_environment == "Development",
        "Development to be active",
    )
    bot.command(RAJ, 'merged HF-1 dev "A&amp;B &lt;core&gt;"')
    bot.wait_private(RAJ, "merged A&B <core> into Development")
    bot.click(RAJ, ids.SKIP, value_contains='"module":"Pay|ments"')
    bot.slack.wait_for("views.open")
    reply = bot.driver.view_submission(
        RAJ, ids.REASON_MODAL, {ids.REASON_INPUT[0]: {ids.REASON_INPUT[1]: text_input("n/a")}}
    )
    assert reply.status == 200 and not reply.body
    bot.wait_until(lambda: bot.buttons() == {ids.SOLVE}, "the solve button")
    assert queries.hotfix_status(ctx, "HF-1").ready_to_solve


def test_mentions_and_links_in_a_summary_are_live_in_mrkdwn_and_readable_in_plain_text(
    bot: Bot, ctx: ServiceContext
) -> None:
    typed = "Pay fails: ask <@U0RAJ|raj>, see <https://x.example/t?a=1&amp;b=2|ticket> &amp; logs"
    bot.command(ANA, f"open eCommerce Checkout {typed}")
    bot.wait_living("HF-1")
    stored = queries.hotfix_status(ctx, "HF-1").summary
    assert stored == "Pay fails: ask <@U0RAJ|raj>, see <https://x.example/t?a=1&b=2|ticket> & logs"

    message = bot.living_message()
    rich = mrkdwn_texts(message.blocks)
    assert "<@U0RAJ|raj>" in rich
    assert "<https://x.example/t?a=1&amp;b=2|ticket> &amp; logs" in rich
    header = header_texts(message.blocks)[0]
    assert "ask @raj, see ticket & logs" in header and "<" not in header
    # The notification text is plain too: readable, escaped as Slack asks of `text`.
    assert "ask @raj, see ticket &amp; logs" in message.text and "<@" not in message.text

    bot.command(STRANGER, "list")
    listed = bot.wait_private(STRANGER, "1 red hotfix")
    assert "<@U0RAJ|raj>" in listed and "<https://x.example/t?a=1&b=2|ticket>" in listed

    # A reason carries its mention to the thread; a broadcast is never live.
    bot.command(ANA, "cancel HF-1 duplicate, says <@U0LEE|lee> <!here>")
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").state is HotfixState.CANCELLED, "cancelled"
    )
    bot.wait_until(lambda: any("<@U0LEE|lee>" in t for t in bot.thread_texts()), "the reason")
    line = next(t for t in bot.thread_texts() if "<@U0LEE|lee>" in t)
    assert "&lt;!here&gt;" in line and "<!here>" not in line


def test_an_unknown_subcommand_is_quoted_once_with_a_suggestion(bot: Bot) -> None:
    bot.command(ANA, "deploi HF-1 1.7.1")
    reply = bot.wait_private(ANA, "Did you mean")
    assert "I don't know `deploi`. Did you mean `deploy`?" in reply
    text, _, blocks = reply.partition("\n")  # the notification text, then the blocks
    assert text.count("I don't know") == blocks.count("I don't know") == 1
    assert "/hotfix I don't" not in reply
    assert "merged <hotfix-id> <environment> <module>" in reply  # and the help follows

    bot.slack.reset()
    bot.command(ANA, "&lt;xyzzy&gt;")
    reply = bot.wait_private(ANA, "I don't know")
    assert "I don't know `<xyzzy>`." in reply and "Did you mean" not in reply


def test_a_form_refusal_about_the_application_shows_on_the_application_field(
    bot: Bot, ctx: ServiceContext
) -> None:
    bot.command(ANA, "open eCommerce Checkout Payment fails")
    bot.wait_living("HF-1")

    def submit(application: str, modules: str) -> dict[str, str]:
        bot.command(ANA, "open")
        bot.slack.wait_for("views.open")
        reply = bot.driver.view_submission(
            ANA,
            ids.OPEN_MODAL,
            {
                ids.APPLICATION_INPUT[0]: {ids.APPLICATION_INPUT[1]: static_select(application)},
                ids.MODULES_INPUT[0]: {ids.MODULES_INPUT[1]: text_input(modules)},
                ids.SUMMARY_INPUT[0]: {ids.SUMMARY_INPUT[1]: text_input("Again")},
                ids.SEVERITY_INPUT[0]: {ids.SEVERITY_INPUT[1]: static_select("high")},
            },
        )
        assert reply.json["response_action"] == "errors"
        errors: dict[str, str] = reply.json["errors"]
        return errors

    # Already red: about the application, whatever the modules.
    errors = submit("eCommerce", "Checkout")
    assert list(errors) == [ids.APPLICATION_INPUT[0]]
    assert "already has an unsolved hotfix" in errors[ids.APPLICATION_INPUT[0]]
    # Gone from the catalog since the form was opened.
    errors = submit("Shop", "Checkout")
    assert list(errors) == [ids.APPLICATION_INPUT[0]]
    assert "no application 'Shop'" in errors[ids.APPLICATION_INPUT[0]]
    # A module the application does not have stays on the modules field.
    errors = submit("R&D Portal", "Payments")
    assert list(errors) == [ids.MODULES_INPUT[0]]
    assert "Did you mean 'Pay|ments'" in errors[ids.MODULES_INPUT[0]]
    # Not one of its owners or approvers: about the application too.
    bot.command(STRANGER, "open")
    bot.slack.wait_for("views.open", count=4)
    reply = bot.driver.view_submission(
        STRANGER,
        ids.OPEN_MODAL,
        {
            ids.APPLICATION_INPUT[0]: {ids.APPLICATION_INPUT[1]: static_select("Back Office")},
            ids.MODULES_INPUT[0]: {ids.MODULES_INPUT[1]: text_input("Orders")},
            ids.SUMMARY_INPUT[0]: {ids.SUMMARY_INPUT[1]: text_input("Broken")},
            ids.SEVERITY_INPUT[0]: {ids.SEVERITY_INPUT[1]: static_select("high")},
        },
    )
    assert list(reply.json["errors"]) == [ids.APPLICATION_INPUT[0]]
    assert len(queries.red_hotfixes(ctx)) == 1
