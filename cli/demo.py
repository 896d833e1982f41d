"""`hotfix-bot demo`: the seeds' scenario played against the real server, as Slack would.

A fresh SQLite file, the real Bolt app over real HTTP, a local stand-in for Slack's Web API,
and signed slash commands and button clicks from @U0ANA (requester), @U0LEE (approver) and
@U0RAJ (owner). Every message the bot posts or updates is printed as readable text.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from bot.ids import ButtonValue
from commands import applications
from commands.actors import Actor
from commands.context import ServiceContext
from commands.reminder_rules import ReminderPolicy
from standin.render import render_blocks, render_view
from standin.stack import LocalSlackStack
from standin.web_api import RecordedCall
from storage.setup import open_database

EXAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "examples" / "catalog.yaml"
INCIDENT = "C0INCIDENT"
ANA, RAJ, LEE = "U0ANA", "U0RAJ", "U0LEE"


class Printer:
    """Prints what the bot sends to Slack, one call at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.direct: dict[str, str] = {}  # DM channel -> user

    def __call__(self, call: RecordedCall) -> None:
        text = self.describe(call)
        if text:
            with self.lock:
                click.echo(text)

    def describe(self, call: RecordedCall) -> str | None:
        params: dict[str, Any] = call.params
        body = render_blocks(params["blocks"]) if params.get("blocks") else params.get("text", "")
        channel = params.get("channel", "")
        if call.method == "chat.postMessage" and channel in self.direct:
            return _boxed(f"bot sent a direct message to @{self.direct[channel]}", body)
        if call.method in ("chat.postMessage", "chat.update") and channel != INCIDENT:
            if params.get("thread_ts"):
                return None
            return f"   (the same message, {call.method}, in #{channel}: the app's home channel)"
        if call.method == "chat.postMessage" and params.get("thread_ts"):
            return f"   ↳ thread: {render_blocks([_section(params.get('text', ''))])}"
        if call.method == "chat.postMessage":
            return _boxed(f"bot posted in #{channel}", body)
        if call.method == "chat.update":
            return _boxed(f"bot updated its message in #{channel}", body)
        if call.method in ("response_url", "chat.postEphemeral"):
            return _boxed("only the person who acted sees", body)
        if call.method in ("views.open", "views.publish"):
            return _boxed(f"bot {call.method}", render_view(params["view"]))
        return None


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _boxed(title: str, body: str) -> str:
    lines = [f"┌─ {title}"]
    lines += [f"│ {line}" for line in body.strip().splitlines()]
    lines.append("└─")
    return "\n".join(lines)


def _step(title: str) -> None:
    click.echo("")
    click.secho(f"== {title}", bold=True)


def run_demo(keep: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="hotfix-bot-demo-") as folder:
        path = keep or Path(folder) / "demo.db"
        if path.exists():
            path.unlink()
        database = open_database(f"sqlite:///{path}")
        ctx = ServiceContext(database)
        try:
            applications.load_catalog(ctx, Actor("demo-admin", is_admin=True), EXAMPLE_CATALOG)
            printer = Printer()
            # Reminders every few seconds while the fix waits for Tag & Deploy, so the demo
            # shows a nudge; the catalog's own cadences apply to the later steps.
            ctx.reminders = ReminderPolicy(
                open_every=timedelta(seconds=3), approval_every=timedelta(hours=1)
            )
            with LocalSlackStack(ctx, on_call=printer, sweep_seconds=0.5) as stack:
                printer.direct = {stack.slack.dm_channel(user): user for user in (ANA, RAJ)}
                _play(stack)
        finally:
            database.engine.dispose()
    return 0


def _wait(stack: LocalSlackStack, check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if check():
            time.sleep(0.2)  # let the thread lines of the same change arrive before the next step
            return
        time.sleep(0.02)
    raise click.ClickException(f"the demo timed out waiting for {what}")


def _buttons(stack: LocalSlackStack) -> dict[str, dict[str, Any]]:
    message = [m for m in stack.slack.messages(INCIDENT) if not m.is_reply][-1]
    found = {}
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("type") == "button":
                found[f"{element['action_id']} {element.get('value', '')}"] = element
    return found


def _click(stack: LocalSlackStack, user: str, action: str, value_contains: str = "") -> None:
    assert stack.driver is not None
    message = [m for m in stack.slack.messages(INCIDENT) if not m.is_reply][-1]
    for key, element in _buttons(stack).items():
        if key.split(" ")[0].split(":")[0] == action and value_contains in key:
            label = element["text"]["text"]
            click.secho(f"@{user} clicks [ {label} ]", fg="cyan")
            stack.driver.block_action(
                user, element["action_id"], element.get("value", ""), INCIDENT, message.ts
            )
            return
    raise click.ClickException(f"the demo found no {action} button")


def _type(stack: LocalSlackStack, user: str, text: str) -> None:
    assert stack.driver is not None
    click.secho(f"@{user} types: /hotfix {text}", fg="cyan")
    reply = stack.driver.slash_command(user, text, channel_id=INCIDENT)
    click.echo(f"   (Slack got HTTP {reply.status} in {reply.elapsed * 1000:.0f} ms)")


def _direct_message(stack: LocalSlackStack, user: str) -> Any:
    messages = stack.slack.messages(stack.slack.dm_channel(user))
    return messages[-1] if messages else None


def _snooze(stack: LocalSlackStack, user: str) -> None:
    assert stack.driver is not None
    message = _direct_message(stack, user)
    channel = stack.slack.dm_channel(user)
    click.secho(f"@{user} clicks [ Snooze 1h ] on the reminder", fg="cyan")
    value = ButtonValue("HF-1", extra="1h").encode()
    stack.driver.block_action(user, "hotfix_snooze:1h", value, channel, message.ts)


def _thread_lines(stack: LocalSlackStack, containing: str) -> int:
    """Thread lines sent so far that contain `containing` (every channel)."""
    return sum(
        1
        for call in stack.slack.calls("chat.postMessage")
        if call.params.get("thread_ts") and containing in str(call.params.get("text", ""))
    )


def _has(stack: LocalSlackStack, action: str) -> Callable[[], bool]:
    return lambda: any(key.startswith(action) for key in _buttons(stack))


def _play(stack: LocalSlackStack) -> None:
    calls = stack.slack.calls
    _step("A severe defect in Production: @U0ANA opens a hotfix in #incident")
    _type(stack, ANA, "open eCommerce Checkout Payment fails for saved cards")
    _wait(stack, lambda: len(calls("response_url")) >= 1, "the living message")

    _step("The fix is still being tested: the bot nudges the owners by direct message")
    _wait(stack, lambda: _direct_message(stack, ANA) is not None, "a reminder")
    _snooze(stack, ANA)
    _wait(stack, lambda: len(calls("response_url")) >= 2, "the snooze answer")

    _step("@U0ANA clicks Tag & Deploy: four eyes, so an approver must say yes")
    _click(stack, ANA, "hotfix_deploy")
    _wait(stack, _has(stack, "hotfix_approve"), "the approval buttons")
    _click(stack, ANA, "hotfix_approve")
    _wait(stack, lambda: len(calls("response_url")) >= 3, "the refusal")

    _step("@U0LEE approves: Production runs 1.7.1; Pre-Production stays red until solved")
    _click(stack, LEE, "hotfix_approve")
    _wait(stack, _has(stack, "hotfix_merged"), "the merge checklist")

    _step("Propagate backward: Quality Assurance first, then Development")
    _click(stack, RAJ, "hotfix_merged", "Quality Assurance")
    _wait(stack, lambda: any("Development" in k for k in _buttons(stack)), "Development's turn")
    _click(stack, RAJ, "hotfix_merged", "Development")
    _wait(stack, _has(stack, "hotfix_solve"), "the solve button")

    _step("Mark Hotfix as Solved: nothing is red any more")
    _click(stack, RAJ, "hotfix_solve")
    _wait(stack, lambda: not _buttons(stack), "the solved message")
    _wait(stack, lambda: _thread_lines(stack, "solved") >= 2, "the solve in both threads")

    _step("The audit trail")
    before = len(calls("response_url"))
    _type(stack, RAJ, "history HF-1")
    _wait(stack, lambda: len(calls("response_url")) > before, "the history")
    click.secho("\nDemo finished: HF-1 is solved.", fg="green", bold=True)
