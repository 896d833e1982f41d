"""`hotfix-bot`: the database, the catalog, the hotfix operations, the demo and the server."""

from __future__ import annotations

import getpass
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bot.settings import Settings, SettingsError
from cli.render import application_text, events_text, hotfix_text, report_text
from commands import applications as application_commands
from commands import deployments, hotfixes, queries, report, subcommands
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import DomainError
from commands.refs import looks_like_hotfix_ref
from commands.subcommands import Kind, Request, Subcommand, Surface
from storage import migrate
from storage.engine import DatabaseSettingError, database_url, make_engine, shown_url
from storage.setup import (
    DatabaseUnreachable,
    SchemaOutOfDate,
    open_database,
    refuse_unknown_revision,
    wait_until_reachable,
)

# What stops a command before it can do its work: each says which setting and what to do.
STARTUP_FAILURES = (SettingsError, DatabaseSettingError, DatabaseUnreachable, SchemaOutOfDate)


class _Main(click.Group):
    """Start-up failures end in one line and exit code 2; the traceback only at DEBUG."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except STARTUP_FAILURES as error:
            if os.environ.get("LOG_LEVEL", "").strip().upper() == "DEBUG":
                traceback.print_exc()
            click.echo(f"hotfix-bot cannot start: {error}", err=True)
            sys.exit(2)


def _settings(url: str | None, *, slack: bool = False, socket_mode: bool = False) -> Settings:
    """The same settings for every command (environment and .env); all problems at once."""
    problems: list[str] = []
    settings = None
    try:
        settings = Settings.from_environment(slack=slack, socket_mode=socket_mode)
    except SettingsError as error:
        problems.extend(error.problems)
    try:
        database_url(url)
    except DatabaseSettingError as error:
        problems.append(str(error))
    if problems or settings is None:
        raise SettingsError(problems)
    return settings


def _say_database(url: str | None) -> None:
    click.echo(f"database: {shown_url(database_url(url))}", err=True)


@contextmanager
def _context(url: str | None, settings: Settings | None = None) -> Iterator[ServiceContext]:
    settings = settings or _settings(url)
    database = open_database(url, wait_seconds=settings.database_wait)
    ctx = ServiceContext(database)
    ctx.reminders = settings.reminders
    ctx.deployer_secrets = settings.deployer_secrets
    ctx.deploy_stuck_after = settings.deploy_stuck_after
    try:
        yield ctx
    finally:
        database.engine.dispose()


def _fail_on_domain_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DomainError as error:
            click.echo(f"refused: {error.message}", err=True)
            sys.exit(1)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


_DATABASE_HELP = "SQLAlchemy URL; default: hotfix-bot.db in your user data folder (see `status`)."
_ACTOR_HELP = "Who acts (a Slack user id). The CLI acts as an admin; default: your login name."
database_option = click.option(
    "--database-url", envvar="DATABASE_URL", default=None, help=_DATABASE_HELP
)
actor_option = click.option(
    "--as", "user", envvar="HOTFIX_CLI_USER", default=None, help=_ACTOR_HELP
)


def _actor(user: str | None) -> Actor:
    return Actor(user_id=user or f"cli:{getpass.getuser()}", is_admin=True)


@click.group(cls=_Main)
@click.version_option(package_name="hotfix-bot")
def main() -> None:
    """hotfix-bot: run the hotfix lifecycle of applications across environments."""
    try:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env")
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        pass


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@database_option
def db_upgrade(database_url: str | None) -> None:
    """Apply every pending migration."""
    settings = _settings(database_url)
    _say_database(database_url)
    engine = make_engine(database_url)
    wait_until_reachable(engine, settings.database_wait)
    refuse_unknown_revision(engine)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    after = migrate.current_revision(engine)
    engine.dispose()
    click.echo(f"database schema: {before or 'empty'} -> {after}")


@main.group()
def catalog() -> None:
    """Environments, applications, modules, owners and versions."""


@catalog.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--set-versions",
    is_flag=True,
    help="Move recorded versions forward to the file's (never back). Without it, the file's "
    "versions only seed new applications.",
)
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@database_option
@actor_option
@_fail_on_domain_errors
def catalog_load(
    file: Path, set_versions: bool, dry_run: bool, database_url: str | None, user: str | None
) -> None:
    """Load a catalog file (idempotent: loading it twice changes nothing)."""
    with _context(database_url) as ctx:
        report = application_commands.load_catalog(
            ctx, _actor(user), file, set_versions=set_versions, dry_run=dry_run
        )
    would = "would be " if dry_run else ""
    if report.pipeline_created:
        click.echo(f"pipeline {would}created")
    for label in ("created", "updated", "unchanged"):
        names = getattr(report, label)
        if names:
            click.echo(f"{would if label != 'unchanged' else ''}{label}: {', '.join(names)}")
    for change in report.changes:
        click.echo(f"  {change}")
    for kept in report.kept:
        click.echo(f"  {kept}")
    if report.kept and not set_versions:
        click.echo("versions the bot recorded are kept; --set-versions moves them forward")
    if dry_run:
        click.echo("dry run: nothing was written")


@catalog.command("export")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@database_option
@_fail_on_domain_errors
def catalog_export(file: Path | None, database_url: str | None) -> None:
    """Write today's catalog (versions as recorded) to FILE, or print it."""
    with _context(database_url) as ctx:
        text = application_commands.export_catalog(ctx)
    if file is None:
        click.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    click.echo(f"catalog written to {file}", err=True)


def _show(outcome: Any) -> None:
    from commands.context import utc_now

    click.echo(hotfix_text(outcome.hotfix, utc_now()))


def _status(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    click.echo(f"database: {shown_url(ctx.db.engine.url)}", err=True)
    now = ctx.now()
    target = request.args[0] if request.args else None
    if target and looks_like_hotfix_ref(target):
        click.echo(hotfix_text(queries.hotfix_status(ctx, target), now))
        return
    if target:
        application, hotfix = queries.application_status(ctx, target)
        click.echo(application_text(application))
        if hotfix is not None:
            click.echo("")
            click.echo(hotfix_text(hotfix, now))
        return
    red = queries.red_hotfixes(ctx)
    click.echo(f"{len(red)} red hotfix(es)")
    for hotfix in red:
        click.echo("")
        click.echo(hotfix_text(hotfix, now))
    for application in queries.applications(ctx):
        click.echo("")
        click.echo(application_text(application))


def _history(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    snapshot, events = queries.history(ctx, request.args[0])
    click.echo(f"{snapshot.ref} · {snapshot.application} · {snapshot.summary}")
    click.echo(events_text(events))


def _open(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    application, modules = request.args
    owners = request.flags.get("owner", "")
    _show(
        hotfixes.open_hotfix(
            ctx,
            actor,
            application,
            modules.split(","),
            request.rest,
            severity=request.flags.get("severity", "high"),
            owners=[owner for owner in owners.split(",") if owner],
            force="force" in request.flags,
        )
    )


def _deploy(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    version = request.args[1] if len(request.args) > 1 else None
    _show(hotfixes.request_deploy(ctx, actor, request.args[0], version))


def _merged(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    hotfix, environment, module = request.args
    _show(hotfixes.mark_merged(ctx, actor, hotfix, environment, module))


def _skip(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    hotfix, environment, module = request.args
    _show(hotfixes.mark_skipped(ctx, actor, hotfix, environment, module, request.rest))


def _report(ctx: ServiceContext, actor: Actor, request: Request) -> None:
    result = report.hotfix_report(
        ctx, request.args[0] if request.args else None, request.flags.get("days")
    )
    click.echo(report_text(result, ctx.now()))
    out = request.flags.get("out")
    if out:
        from commands.report_chart import chart_png

        Path(out).write_bytes(chart_png(result))
        click.echo(f"\nchart: {out}")


Run = Callable[[ServiceContext, Actor, Request], None]

# One function per CLI subcommand of the table (commands.subcommands), by name.
_BY_NAME: dict[str, Run] = {
    "status": _status,
    "history": _history,
    "open": _open,
    "deploy": _deploy,
    "approve": lambda c, a, r: _show(hotfixes.approve_deploy(c, a, r.args[0])),
    "reject": lambda c, a, r: _show(hotfixes.reject_deploy(c, a, r.args[0], r.rest)),
    "merged": _merged,
    "skip": _skip,
    "solve": lambda c, a, r: _show(hotfixes.solve(c, a, r.args[0])),
    "cancel": lambda c, a, r: _show(hotfixes.cancel(c, a, r.args[0], r.rest)),
    "report": _report,
    "deploy-failed": lambda c, a, r: _show(deployments.mark_deploy_failed(c, a, r.args[0], r.rest)),
}


def _request(command: Subcommand, values: dict[str, Any]) -> Request:
    """click's parsed values, read as the same Request the Slack grammar makes."""
    args: list[str] = []
    rest = ""
    users: tuple[str, ...] = ()
    for param in command.params:
        value = values.get(param.name)
        if param.kind is Kind.TEXT:
            rest = " ".join(value or ())
        elif param.kind is Kind.USERS:
            users = tuple(value or ())
        elif value is not None:
            args.append(value)
    flags: dict[str, str] = {}
    for flag in command.flags:
        value = values.get(flag.name)
        if value in (None, False, ()):
            continue
        # A repeatable option's values are joined with commas (user ids have none).
        flags[flag.name] = ",".join(value) if flag.multiple else str(value)
    return Request(command.name, tuple(args), rest=rest, users=users, flags=flags)


def _cli_command(command: Subcommand, run: Run) -> click.Command:
    params: list[click.Parameter] = []
    for param in command.params:
        many = param.kind in (Kind.TEXT, Kind.USERS)
        params.append(
            click.Argument([param.name], nargs=-1 if many else 1, required=not param.optional)
        )
    for flag in command.flags:
        if Surface.CLI not in flag.surfaces:
            continue
        if flag.value is None:
            params.append(click.Option([f"--{flag.name}"], is_flag=True, help=flag.help))
        else:
            params.append(
                click.Option(
                    [f"--{flag.name}"],
                    default=flag.default,
                    multiple=flag.multiple,
                    metavar=flag.value,
                    show_default=flag.default is not None,
                    help=flag.help,
                )
            )
    params += [
        click.Option(["--database-url"], envvar="DATABASE_URL", default=None, help=_DATABASE_HELP),
        click.Option(["--as", "user"], envvar="HOTFIX_CLI_USER", default=None, help=_ACTOR_HELP),
    ]

    @_fail_on_domain_errors
    def callback(database_url: str | None, user: str | None, **values: Any) -> None:
        with _context(database_url) as ctx:
            run(ctx, _actor(user), _request(command, values))

    summary = command.summary[:1].upper() + command.summary[1:] + "."
    return click.Command(command.name.split()[-1], params=params, callback=callback, help=summary)


def _add_subcommands(group: click.Group) -> None:
    """Every subcommand the table offers on the command line, built from its entry."""
    offered = subcommands.on(Surface.CLI)
    missing = [c.name for c in offered if c.name not in _BY_NAME]
    extra = sorted(set(_BY_NAME) - {c.name for c in offered})
    if missing or extra:
        raise LookupError(f"CLI subcommands out of step with the table: {missing=} {extra=}")
    for command in offered:
        parent = group
        for word in command.name.split()[:-1]:  # `app add` lives under a group `app`
            found = parent.commands.get(word)
            if not isinstance(found, click.Group):
                found = click.Group(word, help=f"{word} subcommands.")
                parent.add_command(found)
            parent = found
        parent.add_command(_cli_command(command, _BY_NAME[command.name]))


_add_subcommands(main)


@main.command()
@click.option(
    "--socket-mode", is_flag=True, help="Connect over Socket Mode (needs SLACK_APP_TOKEN)."
)
def serve(socket_mode: bool) -> None:
    """Serve the Slack app: HTTP on PORT at /slack/events, or Socket Mode; both serve /healthz,
    /readyz and /metrics on PORT. SIGTERM or SIGINT stops it gracefully (SHUTDOWN_GRACE)."""
    from bot.app import build_app
    from bot.heap import settle_heap
    from bot.logs import configure_logging, secrets_of
    from bot.reminders import start_scheduler
    from bot.server import start_http, start_probes, wsgi_app
    from bot.shutdown import drain, wait_for_signal
    from bot.startup import check_slack_token
    from commands.deployers.registry import missing_secrets

    settings = _settings(None, slack=True, socket_mode=socket_mode)
    configure_logging(settings.log_level, settings.log_format, secrets_of(settings))
    log = logging.getLogger("hotfix-bot.serve")
    # A log line, not a bare echo, so LOG_FORMAT=json keeps every line of serve's output JSON.
    log.info("database: %s", shown_url(database_url(settings.database_url)))
    with _context(settings.database_url, settings) as ctx:
        missing = missing_secrets(
            application_commands.deployer_kinds(ctx), settings.deployer_secrets
        )
        if missing:
            raise SettingsError(missing)
        check_slack_token(settings)
        application_commands.ensure_pipeline(ctx)
        app, services = build_app(settings, ctx)
        settle_heap()
        scheduler = start_scheduler(
            services.sweeper,
            settings.sweep_seconds,
            services.follower,
            settings.deploy_poll_seconds,
            deliverer=services.deliverer,
            deliver_every_seconds=settings.outbox_sweep_seconds,
            watcher=services.watcher,
            watch_every_seconds=settings.lifetime_watch_seconds,
        )
        services.health.watch_scheduler(scheduler)
        stop_accepting: Callable[[], None]
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            start_probes(services.health, settings.host, settings.port)
            handler = SocketModeHandler(app, settings.app_token)
            handler.connect()
            log.info("connected over Socket Mode")
            stop_accepting = handler.close
        else:
            server = start_http(
                wsgi_app(app, ctx, services.deliverer, services.health),
                settings.host,
                settings.port,
                settings.http_threads,
            )
            log.info("serving Slack on http://%s:%s/slack/events", settings.host, server.port)
            stop_accepting = server.stop
        signum = wait_for_signal()
        log.info("signal %d: finishing work in flight (up to %gs)", signum, settings.shutdown_grace)
        finished = drain(services, stop_accepting, scheduler, settings.shutdown_grace)
        log.info("stopped%s", "" if finished else ": some work left for the next process")
        logging.shutdown()
    # Listener threads still running past the grace period must not hold the exit.
    os._exit(0)


@main.command()
@click.option(
    "--keep",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep the demo database at this path instead of a temporary file.",
)
def demo(keep: Path | None) -> None:
    """Play the seeds' eCommerce hotfix from open to Solved on a fresh SQLite file."""
    from cli.demo import run_demo

    sys.exit(run_demo(keep))


if __name__ == "__main__":  # pragma: no cover
    main()
