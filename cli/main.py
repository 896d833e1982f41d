"""`hotfix-bot`: the database, the catalog, the hotfix operations, the demo and the server."""

from __future__ import annotations

import getpass
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bot.settings import Settings, SettingsError
from cli.render import application_text, events_text, hotfix_text
from commands import applications as application_commands
from commands import hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import DomainError
from commands.refs import looks_like_hotfix_ref
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


database_option = click.option(
    "--database-url",
    envvar="DATABASE_URL",
    default=None,
    help="SQLAlchemy URL; default: hotfix-bot.db in your user data folder (see `status`).",
)
actor_option = click.option(
    "--as",
    "user",
    envvar="HOTFIX_CLI_USER",
    default=None,
    help="Who acts (a Slack user id). The CLI acts as an admin; default: your login name.",
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


@main.command()
@click.argument("target", required=False)
@database_option
@_fail_on_domain_errors
def status(target: str | None, database_url: str | None) -> None:
    """A hotfix (HF-12), an application, or everything red and every application."""
    with _context(database_url) as ctx:
        _say_database(database_url)
        now = ctx.now()
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


@main.command()
@click.argument("hotfix")
@database_option
@_fail_on_domain_errors
def history(hotfix: str, database_url: str | None) -> None:
    """Every change to a hotfix: who, when, what."""
    with _context(database_url) as ctx:
        snapshot, events = queries.history(ctx, hotfix)
    click.echo(f"{snapshot.ref} · {snapshot.application} · {snapshot.summary}")
    click.echo(events_text(events))


def _show(outcome: Any) -> None:
    from commands.context import utc_now

    click.echo(hotfix_text(outcome.hotfix, utc_now()))


@main.command("open")
@click.argument("application")
@click.argument("modules")
@click.argument("summary", nargs=-1, required=True)
@click.option("--severity", default="high", show_default=True)
@click.option("--owner", "owners", multiple=True, help="An owner (Slack user id); repeatable.")
@click.option("--force", is_flag=True, help="Open although the hotfix environment is out of sync.")
@database_option
@actor_option
@_fail_on_domain_errors
def open_command(
    application: str,
    modules: str,
    summary: tuple[str, ...],
    severity: str,
    owners: tuple[str, ...],
    force: bool,
    database_url: str | None,
    user: str | None,
) -> None:
    """Open a hotfix: APPLICATION MODULE[,MODULE...] SUMMARY..."""
    with _context(database_url) as ctx:
        _show(
            hotfixes.open_hotfix(
                ctx,
                _actor(user),
                application,
                modules.split(","),
                " ".join(summary),
                severity=severity,
                owners=owners,
                force=force,
            )
        )


@main.command()
@click.argument("hotfix")
@click.argument("version", required=False)
@database_option
@actor_option
@_fail_on_domain_errors
def deploy(hotfix: str, version: str | None, database_url: str | None, user: str | None) -> None:
    """Tag & Deploy a hotfix to Production (the suggested version unless given)."""
    with _context(database_url) as ctx:
        _show(hotfixes.request_deploy(ctx, _actor(user), hotfix, version))


@main.command()
@click.argument("hotfix")
@database_option
@actor_option
@_fail_on_domain_errors
def approve(hotfix: str, database_url: str | None, user: str | None) -> None:
    """Approve a requested Tag & Deploy (not by its requester)."""
    with _context(database_url) as ctx:
        _show(hotfixes.approve_deploy(ctx, _actor(user), hotfix))


@main.command()
@click.argument("hotfix")
@click.argument("reason", nargs=-1, required=True)
@database_option
@actor_option
@_fail_on_domain_errors
def reject(
    hotfix: str, reason: tuple[str, ...], database_url: str | None, user: str | None
) -> None:
    """Reject a requested Tag & Deploy, with a reason."""
    with _context(database_url) as ctx:
        _show(hotfixes.reject_deploy(ctx, _actor(user), hotfix, " ".join(reason)))


@main.command()
@click.argument("hotfix")
@click.argument("environment")
@click.argument("module")
@database_option
@actor_option
@_fail_on_domain_errors
def merged(
    hotfix: str, environment: str, module: str, database_url: str | None, user: str | None
) -> None:
    """Mark a module as merged into an environment."""
    with _context(database_url) as ctx:
        _show(hotfixes.mark_merged(ctx, _actor(user), hotfix, environment, module))


@main.command()
@click.argument("hotfix")
@click.argument("environment")
@click.argument("module")
@click.argument("reason", nargs=-1, required=True)
@database_option
@actor_option
@_fail_on_domain_errors
def skip(
    hotfix: str,
    environment: str,
    module: str,
    reason: tuple[str, ...],
    database_url: str | None,
    user: str | None,
) -> None:
    """Skip a module in an environment, with a reason."""
    with _context(database_url) as ctx:
        _show(
            hotfixes.mark_skipped(ctx, _actor(user), hotfix, environment, module, " ".join(reason))
        )


@main.command()
@click.argument("hotfix")
@database_option
@actor_option
@_fail_on_domain_errors
def solve(hotfix: str, database_url: str | None, user: str | None) -> None:
    """Mark Hotfix as Solved."""
    with _context(database_url) as ctx:
        _show(hotfixes.solve(ctx, _actor(user), hotfix))


@main.command()
@click.argument("hotfix")
@click.argument("reason", nargs=-1, required=True)
@database_option
@actor_option
@_fail_on_domain_errors
def cancel(
    hotfix: str, reason: tuple[str, ...], database_url: str | None, user: str | None
) -> None:
    """Cancel a hotfix before it is deployed."""
    with _context(database_url) as ctx:
        _show(hotfixes.cancel(ctx, _actor(user), hotfix, " ".join(reason)))


@main.command()
@click.option(
    "--socket-mode", is_flag=True, help="Connect over Socket Mode (needs SLACK_APP_TOKEN)."
)
def serve(socket_mode: bool) -> None:
    """Serve the Slack app: HTTP on PORT at /slack/events (and /healthz), or Socket Mode."""
    import logging

    from bot.app import build_app
    from bot.reminders import start_scheduler
    from bot.server import serve_http, wsgi_app
    from bot.startup import check_slack_token
    from commands.deployers.registry import missing_secrets

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = _settings(None, slack=True, socket_mode=socket_mode)
    _say_database(settings.database_url)
    with _context(settings.database_url, settings) as ctx:
        missing = missing_secrets(
            application_commands.deployer_kinds(ctx), settings.deployer_secrets
        )
        if missing:
            raise SettingsError(missing)
        check_slack_token(settings)
        application_commands.ensure_pipeline(ctx)
        app, services = build_app(settings, ctx)
        scheduler = start_scheduler(
            services.sweeper,
            settings.sweep_seconds,
            services.follower,
            settings.deploy_poll_seconds,
        )
        try:
            if socket_mode:
                from slack_bolt.adapter.socket_mode import SocketModeHandler

                SocketModeHandler(app, settings.app_token).start()
            else:
                serve_http(
                    wsgi_app(app, ctx, services.publisher),
                    settings.host,
                    settings.port,
                    settings.http_threads,
                )
        finally:
            scheduler.shutdown(wait=False)


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
