"""One small function per `/hotfix` subcommand. Errors go to the single error handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import views
from bot.ids import ModalContext
from bot.listeners.commands.report import report
from bot.services import BotServices
from commands import applications, deployments, hotfixes, outbox, queries, reminders
from commands import subcommands as table
from commands.refs import looks_like_hotfix_ref
from commands.results import Outcome
from commands.subcommands import Request, Surface

Handler = Callable[[BotServices, Request, dict[str, Any], Respond, WebClient], None]


def _private(respond: Respond, reply: tuple[str, list[Any]]) -> None:
    text, blocks = reply
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def _key(command: dict[str, Any]) -> str:
    # A Slack retry of the same slash command carries the same trigger id.
    return f"command:{command.get('trigger_id') or command.get('user_id')}:{command.get('text')}"


def _changed(
    services: BotServices,
    outcome: Outcome,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
) -> None:
    unreachable = services.deliverer.deliver(outcome.work)
    origin = command.get("channel_id")
    if origin and origin in unreachable and outcome.work is not None:
        _show_elsewhere(services, outcome, origin, command, respond)
    line = views.event_text(outcome.event)
    _private(respond, views.done_reply(f"{outcome.hotfix.ref}: {line}."))


def _show_elsewhere(
    services: BotServices,
    outcome: Outcome,
    origin: str,
    command: dict[str, Any],
    respond: Respond,
) -> None:
    """The bot cannot post where the command was typed (a DM between people, a private
    channel it was not invited to): say where the living message is, and how to bring it
    here. With no home channel either, it goes to the person by DM."""
    assert outcome.work is not None
    elsewhere = [m.channel for m in outcome.work.messages if m.channel != origin]
    if elsewhere:
        where = f"<#{elsewhere[0]}>"
    else:
        user = command["user_id"]
        dm = services.deliverer.open_dm(user)
        services.deliverer.deliver(outbox.show(services.ctx, outcome.hotfix.ref, dm))
        where = "our direct messages"
    _private(respond, views.not_here_reply(outcome.hotfix.ref, where))


def help_(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    _private(respond, views.help_reply())


def open_(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    if not r.args:
        context = ModalContext("open", channel=c.get("channel_id", ""))
        w.views_open(
            trigger_id=c["trigger_id"],
            view=views.open_modal(queries.applications(s.ctx), context),
        )
        return
    application, modules = r.args
    outcome = hotfixes.open_hotfix(
        s.ctx,
        s.actor(c["user_id"]),
        application,
        modules.split(","),
        r.rest,
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def status(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    now = s.ctx.now()
    if not r.args:
        red, more = queries.red_overview(s.ctx)
        _private(respond, views.list_reply(red, now, more))
    elif looks_like_hotfix_ref(r.args[0]):
        _private(respond, views.status_reply(queries.hotfix_status(s.ctx, r.args[0]), now))
    else:
        application, hotfix = queries.application_status(s.ctx, r.args[0])
        _private(respond, views.application_reply(application, hotfix, now))


def list_(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    red, more = queries.red_overview(s.ctx)
    _private(respond, views.list_reply(red, s.ctx.now(), more))


def deploy(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    version = r.args[1] if len(r.args) > 1 else None
    outcome = hotfixes.request_deploy(
        s.ctx,
        s.actor(c["user_id"]),
        r.args[0],
        version,
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def merged(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    ref, environment, module = r.args
    outcome = hotfixes.mark_merged(
        s.ctx,
        s.actor(c["user_id"]),
        ref,
        environment,
        module,
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def skip(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    ref, environment, module = r.args
    outcome = hotfixes.mark_skipped(
        s.ctx,
        s.actor(c["user_id"]),
        ref,
        environment,
        module,
        r.rest,
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def solve(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    outcome = hotfixes.solve(
        s.ctx,
        s.actor(c["user_id"]),
        r.args[0],
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def cancel(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    outcome = hotfixes.cancel(
        s.ctx,
        s.actor(c["user_id"]),
        r.args[0],
        r.rest,
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def deploy_failed(
    s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient
) -> None:
    outcome = deployments.mark_deploy_failed(
        s.ctx,
        s.actor(c["user_id"]),
        r.args[0],
        r.rest,
        request_key=_key(c),
        origin_channel=c.get("channel_id"),
    )
    _changed(s, outcome, c, respond, w)


def history(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    hotfix, events = queries.history(s.ctx, r.args[0])
    _private(respond, views.history_reply(hotfix, events))


def apps(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    _private(respond, views.apps_reply(*queries.application_overview(s.ctx)))


def app_add(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    name, modules, version = r.args
    snapshot = applications.add_application(
        s.ctx, s.actor(c["user_id"]), name, modules.split(","), version
    )
    _private(respond, views.done_reply(f"Added {snapshot.name} at {version}."))
    _private(respond, views.application_reply(snapshot, None, s.ctx.now()))


def _members(role: str) -> Handler:
    def run(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
        snapshot = applications.set_members(
            s.ctx, s.actor(c["user_id"]), r.args[0], role, list(r.users)
        )
        people = " ".join(f"<@{user}>" for user in getattr(snapshot, f"{role}s"))
        _private(respond, views.done_reply(f"{snapshot.name} {role}s: {people}."))

    return run


def remind(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    outcome = reminders.set_cadence(s.ctx, s.actor(c["user_id"]), r.args[0], r.args[1])
    s.deliverer.deliver(outcome.work)
    ref = outcome.hotfix.ref
    every = outcome.event.details.get("every")
    text = f"{ref}: reminders every {every}." if every else f"{ref}: reminders off."
    _private(respond, views.done_reply(text))


def snooze(s: BotServices, r: Request, c: dict[str, Any], respond: Respond, w: WebClient) -> None:
    outcome = reminders.snooze(
        s.ctx, s.actor(c["user_id"]), r.args[0], r.args[1], request_key=_key(c)
    )
    s.deliverer.deliver(outcome.work)
    ref, length = outcome.hotfix.ref, outcome.event.details["for"]
    until = reminders.next_reminder(s.ctx, ref)
    _private(respond, views.done_reply(views.snoozed_reply(ref, length, until)))


# One function per Slack subcommand of the table (commands.subcommands), by name.
_BY_NAME: dict[str, Handler] = {
    "help": help_,
    "open": open_,
    "status": status,
    "list": list_,
    "deploy": deploy,
    "merged": merged,
    "skip": skip,
    "solve": solve,
    "cancel": cancel,
    "deploy-failed": deploy_failed,
    "history": history,
    "apps": apps,
    "remind": remind,
    "snooze": snooze,
    "app add": app_add,
    "app owners": _members("owner"),
    "app approvers": _members("approver"),
    "report": report,
}


def handlers() -> dict[str, Handler]:
    """The handler of every subcommand the table offers in Slack; a missing one fails here, at
    start, and no handler exists for a subcommand the table does not offer."""
    offered = [command.name for command in table.on(Surface.SLACK)]
    missing = [name for name in offered if name not in _BY_NAME]
    extra = sorted(set(_BY_NAME) - set(offered))
    if missing or extra:
        raise LookupError(f"Slack handlers out of step with the table: {missing=} {extra=}")
    return {name: _BY_NAME[name] for name in offered}
