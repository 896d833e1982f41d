"""Block Kit views from real snapshots: buttons per state, ids, values and Slack's limits."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import ids
from bot.ids import ButtonValue, ModalContext
from bot.views import (
    application_reply,
    apps_reply,
    done_reply,
    error_reply,
    help_reply,
    history_reply,
    home_view,
    hotfix_message,
    list_reply,
    open_modal,
    reason_modal,
    status_reply,
    thread_line,
    version_modal,
)
from bot.views.hotfix_message import MAX_MODULE_BUTTONS
from bot.views.text import escape, mention
from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.lifecycle import HotfixState
from commands.results import HotfixSnapshot
from tests.conftest import ADMIN, ROOT
from tests.support import MovableClock

ANA, RAJ, LEE = Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE")
SUMMARY = "Payment fails for saved cards"


# helpers ---------------------------------------------------------------------------------------


def as_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Validates every block (to_dict checks Slack's limits) and returns the JSON."""
    for block in blocks:
        block.validate_json()
    return [block.to_dict() for block in blocks]


def elements(blocks: Sequence[Block]) -> Iterator[dict[str, Any]]:
    for block in as_dicts(blocks):
        yield from block.get("elements", []) if block["type"] == "actions" else []
        if "accessory" in block:
            yield block["accessory"]


def action_ids(blocks: Sequence[Block]) -> list[str]:
    return [e["action_id"] for e in elements(blocks) if "action_id" in e]


def button(blocks: Sequence[Block], action_id: str) -> dict[str, Any]:
    matches = [e for e in elements(blocks) if e.get("action_id") == action_id]
    assert len(matches) == 1, f"{action_id}: {len(matches)} buttons"
    return matches[0]


def texts(value: Any) -> str:
    """Every `text` string in a JSON tree, one per line."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return "\n".join(found)


def message(hotfix: HotfixSnapshot, clock: MovableClock) -> tuple[str, list[Block], str]:
    text, blocks = hotfix_message(hotfix, clock())
    assert len(blocks) <= 50
    return text, blocks, texts(as_dicts(blocks))


def open_checkout(ctx: ServiceContext, modules: Sequence[str] = ("Checkout",)) -> HotfixSnapshot:
    return hotfixes.open_hotfix(
        ctx, ANA, "eCommerce", list(modules), SUMMARY, severity="critical"
    ).hotfix


def deployed(ctx: ServiceContext, modules: Sequence[str] = ("Checkout",)) -> HotfixSnapshot:
    hotfix = open_checkout(ctx, modules)
    hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    return hotfixes.approve_deploy(ctx, LEE, hotfix.ref).hotfix


def big_application(ctx: ServiceContext, count: int = 60) -> list[str]:
    modules = [f"Module{i}" for i in range(count)]
    applications.add_application(ctx, ADMIN, "Big", modules, "2.0.0")
    applications.set_members(ctx, ADMIN, "Big", "owner", ["U0ANA"])
    applications.set_members(ctx, ADMIN, "Big", "approver", ["U0LEE"])
    return modules


def validate_view(view: View) -> dict[str, Any]:
    view.validate_json()
    return view.to_dict()


# the living message, state by state ------------------------------------------------------------


def test_open_offers_tag_and_deploy_another_version_and_cancel(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = open_checkout(ctx)
    clock.advance(minutes=12)
    text, blocks, shown = message(hotfix, clock)

    assert set(action_ids(blocks)) == {ids.DEPLOY, ids.DEPLOY_OTHER_VERSION, ids.CANCEL}
    deploy = button(blocks, ids.DEPLOY)
    assert deploy["text"]["text"] == "Tag & Deploy 1.7.1"
    assert deploy["style"] == "primary"
    assert ButtonValue.decode(deploy["value"]) == ButtonValue("HF-1", extra="1.7.1")
    assert "Deploy 1.7.1 to Production?" in deploy["confirm"]["text"]["text"]
    assert button(blocks, ids.CANCEL)["style"] == "danger"
    assert button(blocks, ids.CANCEL)["text"]["text"] == "Cancel…"
    assert ButtonValue.decode(button(blocks, ids.DEPLOY_OTHER_VERSION)["value"]).hotfix == "HF-1"

    first = as_dicts(blocks)[0]
    assert first["type"] == "header"
    assert first["text"]["text"] == f"🔴 HF-1 · eCommerce · {SUMMARY}"
    assert "severity: *critical*" in shown
    assert "owners: <@U0ANA> <@U0RAJ>" in shown
    assert "opened by <@U0ANA> 12 min ago" in shown
    assert "modules: Checkout" in shown
    assert "Pre-Production     1.7.0+  🔴 hotfix in progress" in shown
    assert "Development        1.8.0+  waits for the fix" in shown
    assert escape(hotfix.step) in shown
    assert text.startswith("🔴 HF-1 · eCommerce · Payment fails")


def test_awaiting_approval_offers_approve_and_reject(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = open_checkout(ctx)
    hotfix = hotfixes.request_deploy(ctx, ANA, hotfix.ref).hotfix
    assert hotfix.state is HotfixState.AWAITING_APPROVAL
    _, blocks, shown = message(hotfix, clock)

    assert set(action_ids(blocks)) == {ids.APPROVE, ids.REJECT}
    approve = button(blocks, ids.APPROVE)
    assert approve["style"] == "primary" and "confirm" in approve
    assert button(blocks, ids.REJECT)["style"] == "danger"
    assert ButtonValue.decode(approve["value"]).hotfix == "HF-1"
    assert "Tag & Deploy *1.7.1* to Production requested by <@U0ANA>" in shown
    assert "approvers: <@U0KIM> <@U0LEE> (not the requester)" in shown


def test_propagating_into_quality_assurance_has_a_checklist_row_per_module(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = deployed(ctx, ["Checkout", "Payments"])
    assert hotfix.active_environment == "Quality Assurance"
    _, blocks, shown = message(hotfix, clock)

    found = action_ids(blocks)
    assert set(found) == {f"{ids.MERGED}:0", f"{ids.MERGED}:1", f"{ids.SKIP}:0", f"{ids.SKIP}:1"}
    assert all(ids.MERGED_PATTERN.match(a) or ids.SKIP_PATTERN.match(a) for a in found)
    for index, module in enumerate(["Checkout", "Payments"]):
        for prefix in (ids.MERGED, ids.SKIP):
            value = ButtonValue.decode(button(blocks, f"{prefix}:{index}")["value"])
            assert (value.hotfix, value.environment, value.module) == (
                "HF-1",
                "Quality Assurance",
                module,
            )
    assert "deployed as *1.7.1* · propagating (*Quality Assurance*, 1 of 2)" in shown
    assert "Production         1.7.1   ✅ has the fix" in shown
    assert "Pre-Production     1.7.1   🔴 red until solved" in shown


def test_propagating_into_development_shows_quality_assurance_as_done(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = deployed(ctx, ["Checkout", "Payments"])
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout")
    hotfix = hotfixes.mark_skipped(ctx, RAJ, hotfix.ref, "qa", "Payments", "not in QA").hotfix
    assert hotfix.active_environment == "Development"
    _, blocks, shown = message(hotfix, clock)

    assert set(action_ids(blocks)) == {
        f"{ids.MERGED}:0",
        f"{ids.MERGED}:1",
        f"{ids.SKIP}:0",
        f"{ids.SKIP}:1",
    }
    value = ButtonValue.decode(button(blocks, f"{ids.MERGED}:1")["value"])
    assert (value.environment, value.module) == ("Development", "Payments")
    assert "(*Development*, 2 of 2)" in shown
    assert "✅ *Quality Assurance*: Checkout merged by <@U0RAJ>" in shown
    assert "Payments skipped by <@U0RAJ>: not in QA" in shown
    assert "Quality Assurance  1.7.0+  ✅ has the fix" in shown


def test_done_modules_of_the_active_environment_lose_their_buttons(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = deployed(ctx, ["Checkout", "Payments"])
    hotfix = hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout").hotfix
    _, blocks, shown = message(hotfix, clock)

    assert set(action_ids(blocks)) == {f"{ids.MERGED}:0", f"{ids.SKIP}:0"}
    assert ButtonValue.decode(button(blocks, f"{ids.MERGED}:0")["value"]).module == "Payments"
    assert "Checkout merged by <@U0RAJ>" in shown
    assert "1 of 2 done" in shown


def test_ready_to_solve_offers_only_mark_hotfix_as_solved(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = deployed(ctx)
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout")
    hotfix = hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "dev", "Checkout").hotfix
    assert hotfix.ready_to_solve
    _, blocks, shown = message(hotfix, clock)

    assert action_ids(blocks) == [ids.SOLVE]
    solve = button(blocks, ids.SOLVE)
    assert solve["text"]["text"] == "Mark Hotfix as Solved"
    assert solve["style"] == "primary"
    assert ButtonValue.decode(solve["value"]) == ButtonValue("HF-1")
    assert "Every environment has the fix" in shown


def test_solved_has_no_buttons_and_says_who_and_how_long(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = deployed(ctx)
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout")
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "dev", "Checkout")
    clock.advance(hours=3, minutes=12)
    hotfix = hotfixes.solve(ctx, RAJ, hotfix.ref).hotfix
    text, blocks, shown = message(hotfix, clock)

    assert action_ids(blocks) == []
    assert as_dicts(blocks)[0]["text"]["text"].startswith("✅ HF-1 · eCommerce")
    assert "✅ *HF-1* · eCommerce · solved by <@U0RAJ> after 3 h 12 min" in shown
    assert "deployed as *1.7.1* · merged into Quality Assurance and Development" in shown
    assert "nothing red" in shown
    assert "🔴" not in shown
    assert "Next:" not in shown
    assert text.startswith("✅ HF-1")


def test_cancelled_has_no_buttons_and_says_who_and_why(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = open_checkout(ctx)
    hotfix = hotfixes.cancel(ctx, ANA, hotfix.ref, "false alarm <script> & co").hotfix
    text, blocks, shown = message(hotfix, clock)

    assert action_ids(blocks) == []
    assert as_dicts(blocks)[0]["text"]["text"].startswith("⚪ HF-1")
    assert "cancelled by <@U0ANA>" in shown
    assert "false alarm &lt;script&gt; &amp; co" in shown
    assert "🔴" not in shown
    assert text.startswith("⚪ HF-1")


def test_without_approval_the_deploy_confirmation_says_it_deploys_now(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = hotfixes.open_hotfix(ctx, RAJ, "Back Office", ["Orders"], "Reports are empty").hotfix
    _, blocks, _ = message(replace(hotfix, require_approval=False), clock)

    deploy = button(blocks, ids.DEPLOY)
    assert deploy["text"]["text"] == "Tag & Deploy 2.3.5"
    assert "Deploy 2.3.5 to Production?" in deploy["confirm"]["text"]["text"]
    assert "now" in deploy["confirm"]["text"]["text"]


def test_a_forced_open_is_visible(ctx: ServiceContext, clock: MovableClock) -> None:
    hotfix = open_checkout(ctx)
    _, _, shown = message(hotfix, clock)
    assert "Opened with force" not in shown

    _, _, shown = message(replace(hotfix, forced=True), clock)
    assert "⚠️ Opened with force: Pre-Production was not in sync with Production" in shown


# limits ----------------------------------------------------------------------------------------


def test_a_sixty_module_hotfix_stays_within_slack_limits_in_every_state(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    modules = big_application(ctx)
    summary = "S" * 300
    ref = hotfixes.open_hotfix(ctx, ANA, "Big", modules, summary, severity="critical").hotfix.ref

    def check(hotfix: HotfixSnapshot) -> tuple[list[Block], str]:
        text, blocks, shown = message(hotfix, clock)
        assert len(blocks) <= 50
        assert len(text) <= 300
        found = action_ids(blocks)
        assert len(found) == len(set(found)), "action ids must be unique within a message"
        payload = json.dumps(as_dicts(blocks), ensure_ascii=False)
        assert len(payload) < 40_000
        for block in as_dicts(blocks):
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            if block["type"] == "section" and "text" in block:
                assert len(block["text"]["text"]) <= 3000
        return blocks, shown

    blocks, shown = check(queries.hotfix_status(ctx, ref))
    assert summary in shown, "the whole summary is shown below a shortened header"
    assert "…and" in shown, "the module list is shortened"
    check(hotfixes.request_deploy(ctx, ANA, ref).hotfix)
    hotfix = hotfixes.approve_deploy(ctx, LEE, ref).hotfix

    blocks, shown = check(hotfix)
    merged = [a for a in action_ids(blocks) if ids.MERGED_PATTERN.match(a)]
    assert len(merged) == MAX_MODULE_BUTTONS
    assert f"…and {60 - MAX_MODULE_BUTTONS} more" in shown
    assert f"`/hotfix merged {ref} qa &lt;module&gt;`" in shown
    assert "Quality Assurance: 60 modules not merged" in shown

    for module in modules[:50]:
        hotfix = hotfixes.mark_merged(ctx, ANA, ref, "qa", module).hotfix
    blocks, shown = check(hotfix)
    assert len([a for a in action_ids(blocks) if ids.SKIP_PATTERN.match(a)]) == 10
    assert "/hotfix merged" not in shown

    for module in modules[50:]:
        hotfix = hotfixes.mark_skipped(ctx, ANA, ref, "qa", module, "not used there").hotfix
    blocks, shown = check(hotfix)
    assert hotfix.active_environment == "Development"
    assert "✅ *Quality Assurance*: 50 merged, 10 skipped" in shown
    assert len(action_ids(blocks)) == 2 * MAX_MODULE_BUTTONS

    for module in modules:
        hotfix = hotfixes.mark_merged(ctx, ANA, ref, "dev", module).hotfix
    blocks, _ = check(hotfix)
    assert action_ids(blocks) == [ids.SOLVE]
    blocks, _ = check(hotfixes.solve(ctx, ANA, ref).hotfix)
    assert action_ids(blocks) == []

    _, status_blocks = status_reply(hotfix, clock())
    assert len(as_dicts(status_blocks)) <= 50


def test_a_long_application_name_and_summary_are_cut_with_an_ellipsis(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    name = "A" + "b" * 119
    applications.add_application(ctx, ADMIN, name, ["Cart"], "1.0.0")
    applications.set_members(ctx, ADMIN, name, "owner", ["U0ANA"])
    summary = "word " * 60
    hotfix = hotfixes.open_hotfix(ctx, ANA, name, ["Cart"], summary).hotfix
    text, blocks, shown = message(hotfix, clock)

    head = as_dicts(blocks)[0]["text"]["text"]
    assert len(head) <= 150 and head.endswith("…")
    assert summary.strip() in shown
    assert len(text) <= 300 and text.endswith("…")


def test_user_text_is_escaped_and_mentions_are_not(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = hotfixes.open_hotfix(
        ctx, ANA, "eCommerce", ["Checkout"], "Totals < 0 & <!channel> " + "x" * 80
    ).hotfix
    text, blocks, _ = message(hotfix, clock)
    mrkdwn = texts([block for block in as_dicts(blocks) if block["type"] != "header"])

    assert "<!channel>" not in text and "<!channel>" not in mrkdwn
    assert "Totals &lt; 0 &amp; &lt;!channel&gt;" in text
    assert "Totals &lt; 0 &amp; &lt;!channel&gt;" in mrkdwn
    assert "<@U0ANA>" in mrkdwn


# thread lines ----------------------------------------------------------------------------------


def test_thread_lines_describe_each_event_with_mentions(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx, ["Checkout", "Payments"])
    outcome = hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    assert thread_line(outcome.hotfix, outcome.event) == (
        "🏷️ <@U0ANA> requested Tag & Deploy 1.7.1 to Production"
    )
    outcome = hotfixes.approve_deploy(ctx, LEE, hotfix.ref)
    line = thread_line(outcome.hotfix, outcome.event)
    assert line.startswith("🚀 <@U0LEE> approved Tag & Deploy 1.7.1")
    assert "next: merge into Quality Assurance" in line
    outcome = hotfixes.mark_skipped(ctx, RAJ, hotfix.ref, "qa", "Checkout", "n/a <here>")
    assert thread_line(outcome.hotfix, outcome.event).startswith(
        "⏭️ <@U0RAJ> skipped Checkout in Quality Assurance: n/a &lt;here&gt;"
    )
    _, events = queries.history(ctx, hotfix.ref)
    assert "\n" not in "".join(thread_line(outcome.hotfix, event) for event in events)


# App Home --------------------------------------------------------------------------------------


def test_home_shows_red_hotfixes_oldest_first_then_every_pipeline(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    back_office = hotfixes.open_hotfix(ctx, RAJ, "Back Office", ["Orders"], "Reports").hotfix
    clock.advance(hours=2)
    ecommerce = open_checkout(ctx)
    clock.advance(minutes=30)
    for i in range(28):
        applications.add_application(ctx, ADMIN, f"App {i:02}", ["Core"], "1.0.0")
    apps = queries.applications(ctx)
    assert len(apps) == 30
    red = [ecommerce, back_office]

    view = home_view(red, apps, clock())
    data = validate_view(view)
    shown = texts(data)

    assert data["type"] == "home"
    assert len(data["blocks"]) <= 100
    assert shown.index("HF-1") < shown.index("HF-2"), "the oldest red hotfix comes first"
    assert "red for 2 h 30 min" in shown
    assert escape(back_office.step) in shown
    assert "Pre-Production     1.7.0+  🔴" in shown
    assert "App 27" in shown


def test_home_caps_long_lists_and_says_how_many_more(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    red = [open_checkout(ctx)]
    red = [replace(red[0], id=i, ref=f"HF-{i}") for i in range(1, 41)]
    app = queries.applications(ctx)[0]
    apps = [replace(app, name=f"App {i:03}") for i in range(200)]

    data = validate_view(home_view(red, apps, clock()))
    shown = texts(data)

    assert len(data["blocks"]) <= 100
    assert "…and 20 more red" in shown
    assert "more applications" in shown


def test_home_with_nothing_red(ctx: ServiceContext, clock: MovableClock) -> None:
    data = validate_view(home_view([], queries.applications(ctx), clock()))

    assert "Nothing is red" in texts(data)
    assert "eCommerce" in texts(data)


# replies ---------------------------------------------------------------------------------------


def test_help_lists_every_subcommand() -> None:
    text, blocks = help_reply()
    shown = texts(as_dicts(blocks))

    for usage in [
        "help",
        "open &lt;app&gt; &lt;module&gt;[,&lt;module&gt;...] &lt;summary...&gt;",
        "status [&lt;hotfix-id&gt;|&lt;app&gt;]",
        "list",
        "deploy &lt;hotfix-id&gt; [&lt;version&gt;]",
        "merged &lt;hotfix-id&gt; &lt;environment&gt; &lt;module&gt;",
        "skip &lt;hotfix-id&gt; &lt;environment&gt; &lt;module&gt; &lt;reason...&gt;",
        "solve &lt;hotfix-id&gt;",
        "cancel &lt;hotfix-id&gt; &lt;reason...&gt;",
        "history &lt;hotfix-id&gt;",
        "apps",
        "app add &lt;app&gt; &lt;module&gt;[,...]",
        "app owners &lt;app&gt; &lt;@user&gt;...",
        "app approvers &lt;app&gt; &lt;@user&gt;...",
        "remind &lt;hotfix-id&gt; &lt;every&gt;|off",
        "snooze &lt;hotfix-id&gt; &lt;duration&gt;",
    ]:
        assert f"`/hotfix {usage}" in shown, usage
    assert "Did you mean" not in shown
    assert "/hotfix" in text


def test_help_suggests_the_closest_subcommand() -> None:
    text, blocks = help_reply(suggestion="deploy", unknown="depoy")

    assert text == "I don't know `depoy`. Did you mean `deploy`?"
    assert "Did you mean `deploy`?" in texts(as_dicts(blocks))


def test_status_reply_is_the_message_without_buttons(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    hotfix = deployed(ctx, ["Checkout", "Payments"])
    text, blocks = status_reply(hotfix, clock())
    shown = texts(as_dicts(blocks))

    assert action_ids(blocks) == []
    assert text == hotfix_message(hotfix, clock())[0]
    assert "Pre-Production     1.7.1   🔴 red until solved" in shown
    assert "pending: `Checkout`, `Payments`" in shown


def test_application_reply_with_and_without_a_red_hotfix(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    open_checkout(ctx)
    app, hotfix = queries.application_status(ctx, "eCommerce")
    text, blocks = application_reply(app, hotfix, clock())
    shown = texts(as_dicts(blocks))
    assert action_ids(blocks) == []
    assert "*eCommerce* · 🔴 HF-1" in shown
    assert "approvers: <@U0KIM> <@U0LEE>" in shown
    assert hotfix is not None and escape(hotfix.step) in shown
    assert text.startswith("eCommerce: HF-1 is red")

    app, none = queries.application_status(ctx, "Back Office")
    text, blocks = application_reply(app, none, clock())
    assert "No hotfix yet." in texts(as_dicts(blocks))
    assert "Quality Assurance  2.4.0" in texts(as_dicts(blocks))

    hotfixes.cancel(ctx, ANA, "HF-1", "duplicate")
    app, latest = queries.application_status(ctx, "eCommerce")
    _, blocks = application_reply(app, latest, clock())
    assert "Latest hotfix: ⚪ *HF-1*" in texts(as_dicts(blocks))


def test_list_reply(ctx: ServiceContext, clock: MovableClock) -> None:
    text, blocks = list_reply([], clock())
    assert text == "Nothing is red."
    assert "Nothing is red." in texts(as_dicts(blocks))

    hotfix = open_checkout(ctx)
    clock.advance(minutes=5)
    text, blocks = list_reply(queries.red_hotfixes(ctx), clock())
    shown = texts(as_dicts(blocks))
    assert text == "1 red hotfix: HF-1"
    assert "🔴 *HF-1* · eCommerce" in shown and "red for 5 min" in shown
    assert escape(hotfix.step) in shown

    many = [replace(hotfix, id=i, ref=f"HF-{i}") for i in range(1, 61)]
    _, blocks = list_reply(many, clock())
    assert len(as_dicts(blocks)) <= 50
    assert "…and 20 more" in texts(as_dicts(blocks))


def test_history_reply_has_a_line_per_event(ctx: ServiceContext, clock: MovableClock) -> None:
    hotfix = deployed(ctx)
    _, events = queries.history(ctx, hotfix.ref)
    text, blocks = history_reply(hotfix, events)
    shown = texts(as_dicts(blocks))

    assert text == "History of HF-1: 3 events"
    assert shown.count("<!date^") == 3
    assert "<@U0LEE> approved Tag & Deploy 1.7.1" in shown
    assert f"<!date^{int(events[0].at.timestamp())}^" in shown

    many = [events[1]] * 3000
    _, blocks = history_reply(hotfix, many)
    assert len(as_dicts(blocks)) <= 50
    assert "later events not shown" in texts(as_dicts(blocks))


def test_apps_reply(ctx: ServiceContext) -> None:
    open_checkout(ctx)
    text, blocks = apps_reply(queries.applications(ctx))
    shown = texts(as_dicts(blocks))

    assert text == "2 applications"
    assert "*eCommerce* · 🔴 HF-1" in shown
    assert "Pre-Production `1.7.0+` 🔴" in shown
    assert "No applications yet" in apps_reply([])[0]


def test_error_and_done_replies() -> None:
    text, blocks = error_reply("there is no hotfix HF-9: `/hotfix list` shows <the red ones>")
    assert text.startswith(":warning: there is no hotfix HF-9")
    assert "&lt;the red ones&gt;" in texts(as_dicts(blocks))

    text, blocks = done_reply("<@U0ANA> merged Checkout into Quality Assurance")
    assert text == ":white_check_mark: <@U0ANA> merged Checkout into Quality Assurance"
    assert texts(as_dicts(blocks)) == text


# modals ----------------------------------------------------------------------------------------


def test_open_modal(ctx: ServiceContext) -> None:
    context = ModalContext("open", channel="C0ECOMMERCE")
    data = validate_view(open_modal(queries.applications(ctx), context))

    assert data["type"] == "modal" and data["callback_id"] == ids.OPEN_MODAL
    assert 1 <= len(data["title"]["text"]) <= 24
    assert "submit" in data and "close" in data
    assert ModalContext.decode(data["private_metadata"]) == context
    inputs = {b["block_id"]: b for b in data["blocks"] if b["type"] == "input"}
    expected = [
        ids.APPLICATION_INPUT,
        ids.MODULES_INPUT,
        ids.SUMMARY_INPUT,
        ids.SEVERITY_INPUT,
        ids.OWNERS_INPUT,
    ]
    assert {(b, inputs[b]["element"]["action_id"]) for b in inputs} == set(expected)
    application = inputs[ids.APPLICATION_INPUT[0]]["element"]
    assert [o["value"] for o in application["options"]] == ["Back Office", "eCommerce"]
    assert "Checkout, Catalog" in inputs[ids.MODULES_INPUT[0]]["hint"]["text"]
    assert inputs[ids.SUMMARY_INPUT[0]]["element"]["max_length"] == 300
    severity = inputs[ids.SEVERITY_INPUT[0]]["element"]
    assert [o["value"] for o in severity["options"]] == ["critical", "high", "medium", "low"]
    assert severity["initial_option"]["value"] == "high"
    owners = inputs[ids.OWNERS_INPUT[0]]
    assert owners["optional"] is True and owners["element"]["type"] == "multi_users_select"


def test_open_modal_with_many_or_no_applications(ctx: ServiceContext) -> None:
    app = queries.applications(ctx)[0]
    apps = [replace(app, name=f"Application number {i:03} " + "x" * 90) for i in range(150)]
    data = validate_view(open_modal(apps, ModalContext("open")))
    select = data["blocks"][0]["element"]
    assert len(select["options"]) == 100
    assert all(len(o["text"]["text"]) <= 75 for o in select["options"])
    assert "50 more applications" in texts(data)

    data = validate_view(open_modal([], ModalContext("open")))
    assert "submit" not in data
    assert "app add" in texts(data)


def test_version_modal(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    context = ModalContext("deploy", hotfix.ref, channel="C1", message_ts="1.2")
    data = validate_view(version_modal(hotfix, context))

    assert data["callback_id"] == ids.VERSION_MODAL
    assert len(data["title"]["text"]) <= 24
    assert ModalContext.decode(data["private_metadata"]) == context
    block = next(b for b in data["blocks"] if b.get("block_id") == ids.VERSION_INPUT[0])
    assert block["element"]["action_id"] == ids.VERSION_INPUT[1]
    assert block["element"]["initial_value"] == "1.7.1"
    assert "above Production's 1.7.0" in block["hint"]["text"]


def test_reason_modal(ctx: ServiceContext) -> None:
    context = ModalContext("skip", "HF-1", "Quality Assurance", "Checkout", "C1", "1.2")
    data = validate_view(
        reason_modal(context, "Skip Checkout in Quality Assurance", "Why is no merge needed?")
    )

    assert data["callback_id"] == ids.REASON_MODAL
    assert len(data["title"]["text"]) <= 24 and data["title"]["text"].endswith("…")
    assert ModalContext.decode(data["private_metadata"]) == context
    block = next(b for b in data["blocks"] if b["type"] == "input")
    assert block["block_id"] == ids.REASON_INPUT[0]
    assert block["label"]["text"] == "Why is no merge needed?"
    element = block["element"]
    assert element["action_id"] == ids.REASON_INPUT[1]
    assert element["multiline"] is True and element["max_length"] == 500
    assert "Checkout" in texts(data)


@pytest.mark.parametrize("purpose", ["cancel", "reject", "skip"])
def test_reason_modal_buttons_say_what_they_do(purpose: str) -> None:
    data = validate_view(reason_modal(ModalContext(purpose, "HF-1"), "Why?", "Reason"))

    assert data["submit"]["text"] != data["close"]["text"]
    assert data["submit"]["text"] != "Cancel"


# layering --------------------------------------------------------------------------------------

ALLOWED_IMPORTS = {
    "commands.results",
    "commands.describe",
    "commands.lifecycle",
    "commands.refs",
    "commands.subcommands",  # the help is built from the table of subcommands
    "commands.report_results",
    "bot.ids",
    "bot",
}


def test_views_import_only_the_service_layers_snapshots_and_the_ids() -> None:
    for path in sorted((ROOT / "bot" / "views").glob("*.py")):
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ("commands", "bot", "storage", "cli", "standin"):
                    assert name in ALLOWED_IMPORTS or name.startswith("bot.views"), (path, name)
                assert top not in ("sqlalchemy", "sqlmodel"), (path, name)
                assert not name.startswith("slack_sdk.web"), (path, name)


def test_mentions_render_slack_users_and_leave_other_ids_as_text() -> None:
    assert mention("U0ANA") == "<@U0ANA>"
    assert mention("W0LEE") == "<@W0LEE>"
    assert mention("cli:ana<x>") == "cli:ana&lt;x&gt;"
