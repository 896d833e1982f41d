"""`hotfix-bot`: the database, the catalog, the hotfix operations, the demo and the server."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cli.render import application_text, events_text, hotfix_text
from commands import applications as application_commands
from commands import hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import DomainError
from commands.refs import looks_like_hotfix_ref
from storage import migrate
from storage.engine import make_engine
from storage.setup import SchemaOutOfDate, open_database


@contextmanager
def _context(url: str | None) -> Iterator[ServiceContext]:
    try:
        database = open_database(url)
    except SchemaOutOfDate as error:
        raise click.ClickException(str(error)) from error
    try:
        yield ServiceContext(database)
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
    help="SQLAlchemy URL; default sqlite:///hotfix-bot.db in the working directory.",
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


@click.group()
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
    engine = make_engine(database_url)
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
@database_option
@actor_option
@_fail_on_domain_errors
def catalog_load(file: Path, database_url: str | None, user: str | None) -> None:
    """Load a catalog file (idempotent: loading it twice changes nothing)."""
    with _context(database_url) as ctx:
        report = application_commands.load_catalog(ctx, _actor(user), file)
    if report.pipeline_created:
        click.echo("pipeline created")
    for label in ("created", "updated", "unchanged"):
        names = getattr(report, label)
        if names:
            click.echo(f"{label}: {', '.join(names)}")


@main.command()
@click.argument("target", required=False)
@database_option
@_fail_on_domain_errors
def status(target: str | None, database_url: str | None) -> None:
    """A hotfix (HF-12), an application, or everything red and every application."""
    with _context(database_url) as ctx:
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
    import os

    from bot.app import build_app
    from bot.reminders import start_scheduler
    from bot.server import start_http, wsgi_app
    from bot.settings import Settings, SettingsError
    from bot.shutdown import drain, wait_for_signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("hotfix-bot.serve")
    try:
        settings = Settings.from_environment(socket_mode=socket_mode)
    except SettingsError as error:
        raise click.ClickException(f"cannot start: {error}") from error
    with _context(settings.database_url) as ctx:
        application_commands.ensure_pipeline(ctx)
        app, services = build_app(settings, ctx)
        scheduler = start_scheduler(
            services.sweeper,
            settings.sweep_seconds,
            services.follower,
            settings.deploy_poll_seconds,
            services.deliverer,
            settings.outbox_sweep_seconds,
        )
        stop_accepting: Callable[[], None]
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, settings.app_token)
            handler.connect()
            log.info("connected over Socket Mode")
            stop_accepting = handler.close
        else:
            server = start_http(
                wsgi_app(app, ctx, services.deliverer),
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
