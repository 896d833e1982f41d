"""The terminal rendering of Block Kit JSON used by the demo."""

from __future__ import annotations

import copy
from typing import Any

from bot.ids import ModalContext
from bot.views import help_reply, home_view, hotfix_message, reason_modal, version_modal
from commands import hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from standin.render import render_blocks, render_mrkdwn, render_view
from tests.support import MovableClock

ANA, LEE = Actor("U0ANA"), Actor("U0LEE")


def open_checkout(ctx: ServiceContext) -> Any:
    return hotfixes.open_hotfix(
        ctx, ANA, "eCommerce", ["Checkout"], "Payment fails for saved cards", severity="critical"
    ).hotfix


def test_the_living_message_reads_like_the_design(ctx: ServiceContext, clock: MovableClock) -> None:
    hotfix = open_checkout(ctx)
    clock.advance(minutes=12)
    _, blocks = hotfix_message(hotfix, clock())
    text = render_blocks([block.to_dict() for block in blocks])
    lines = text.splitlines()

    assert lines[0] == "🔴 HF-1 · eCommerce · Payment fails for saved cards"
    assert "severity: critical · owners: @U0ANA @U0RAJ · opened by @U0ANA 12 min ago" in text
    assert "Pre-Production" in text and "1.7.0+" in text
    assert "  Pre-Production     1.7.0+  🔴 hotfix in progress" in lines
    assert "Next: test the fix in Pre-Production, then Tag & Deploy 1.7.1 to Production" in lines
    assert lines[-1] == "[ Tag & Deploy 1.7.1 ]  [ Another version… ]  [ Cancel… ]"
    for leftover in ("<@", "```", "*", "&amp;", "&lt;"):
        assert leftover not in text


def test_the_checklist_has_its_buttons_on_one_line(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    hotfix = hotfixes.approve_deploy(ctx, LEE, hotfix.ref).hotfix
    _, blocks = hotfix_message(hotfix, hotfix.opened_at)
    text = render_blocks([block.to_dict() for block in blocks])

    assert "⏳ Checkout · pending\n[ Merged ]  [ Skip… ]" in text
    assert "deployed as 1.7.1 · propagating (Quality Assurance, 1 of 2)" in text


def test_mrkdwn_is_cleaned_lightly() -> None:
    blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    "*Bold* and _italic_ by <@U0ANA> in <#C0ECO|ecommerce> at "
                    "<!date^1795000000^{date_short_pretty} {time}|2026-11-18 10:00 UTC>, "
                    "see <https://example.com|the runbook>; 1 &lt; 2 &amp; 3 &gt; 2; "
                    "`hotfix_deploy *x*` stays, snake_case_name stays, 2 * 3 * 4 stays"
                ),
            },
        }
    ]

    assert render_blocks(blocks) == (
        "Bold and italic by @U0ANA in #ecommerce at 2026-11-18 10:00 UTC, "
        "see the runbook (https://example.com); 1 < 2 & 3 > 2; "
        "`hotfix_deploy *x*` stays, snake_case_name stays, 2 * 3 * 4 stays"
    )


def test_code_blocks_fields_context_divider_and_unknown_blocks() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*App*\n```\nProd  1.0 *x*\n```"}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*a*"}, {"type": "plain_text", "text": "*b*"}],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "one"}, {"type": "mrkdwn", "text": "two"}],
        },
        {"type": "divider"},
        {"type": "video", "title": {"type": "plain_text", "text": "x"}},
    ]

    assert render_blocks(blocks).splitlines() == [
        "Title",
        "=====",
        "App",
        "  Prod  1.0 *x*",
        "a",
        "*b*",
        "one  two",
        "-" * 40,
        "[video]",
    ]


def test_a_section_accessory_joins_its_line() -> None:
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Checkout"},
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Merged"},
                "action_id": "hotfix_merged:0",
            },
        }
    ]

    assert render_blocks(blocks) == "Checkout  [ Merged ]"


def test_modals_show_their_inputs_and_buttons(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    text = render_view(version_modal(hotfix, ModalContext("deploy", hotfix.ref)).to_dict())
    lines = text.splitlines()

    assert lines[0] == "== Another version =="
    assert "Version: 1.7.1" in lines
    assert "  (above Production's 1.7.0, and never used by eCommerce before)" in lines
    assert lines[-1] == "[ Cancel ]  [ Tag & Deploy ]"

    reason = reason_modal(ModalContext("cancel", hotfix.ref), "Cancel HF-1", "Why cancel it?")
    text = render_view(reason.to_dict())
    assert "Why cancel it?: ____" in text.splitlines()
    assert text.splitlines()[-1] == "[ Back ]  [ Cancel hotfix ]"


def test_home_view_and_help(ctx: ServiceContext, clock: MovableClock) -> None:
    open_checkout(ctx)
    home = home_view(queries.red_hotfixes(ctx), queries.applications(ctx), clock())
    text = render_view(home.to_dict())

    assert "🔴 HF-1 · eCommerce · Payment fails for saved cards" in text
    assert "  Pre-Production     1.7.0+  🔴" in text.splitlines()
    assert "[ " not in text, "the home view has no modal buttons"

    _, blocks = help_reply("deploy", "depoy")
    help_text = render_blocks([block.to_dict() for block in blocks])
    assert "Did you mean `deploy`?" in help_text
    assert "How to use `/hotfix`" in help_text
    assert "`/hotfix merged <hotfix-id> <environment> <module>`" in help_text


def test_rendering_is_pure() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*x* <@U1>"}},
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}],
        },
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "Owners"},
            "optional": True,
            "element": {"type": "multi_users_select"},
        },
    ]
    before = copy.deepcopy(blocks)

    assert (
        render_blocks(blocks)
        == render_blocks(blocks)
        == "x @U1\n[ Go ]\nOwners (optional): ____ ▾ choose"
    )
    assert blocks == before


def test_a_single_mrkdwn_line_such_as_a_thread_line() -> None:
    assert render_mrkdwn("🔀 <@U0RAJ> merged *Checkout* into QA: a &lt; b") == (
        "🔀 @U0RAJ merged Checkout into QA: a < b"
    )
