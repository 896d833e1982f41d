"""The seeds' scenario, played through the service layer on a fresh SQLite file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from cli.render import events_text, hotfix_text
from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import DomainError
from commands.results import Outcome
from storage.setup import open_database

EXAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "examples" / "catalog.yaml"
ANA, RAJ, LEE = Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE")
ADMIN = Actor("demo-admin", is_admin=True)


def run_demo(keep: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="hotfix-bot-demo-") as folder:
        path = keep or Path(folder) / "demo.db"
        if path.exists():
            path.unlink()
        database = open_database(f"sqlite:///{path}")
        try:
            _play(ServiceContext(database))
        finally:
            database.engine.dispose()
    return 0


def _step(title: str) -> None:
    click.echo("")
    click.secho(f"== {title}", bold=True)


def _show(ctx: ServiceContext, outcome: Outcome) -> None:
    click.echo(hotfix_text(outcome.hotfix, ctx.now(), color=True))


def _refused(what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except DomainError as error:
        click.secho(f"   refused, as it should be ({what}): {error.message}", fg="yellow")
        return
    raise SystemExit(f"the demo expected a refusal ({what}) and got none")


def _play(ctx: ServiceContext) -> None:
    _step(f"Load the catalog {EXAMPLE_CATALOG.name}: eCommerce runs 1.7.0 in Production")
    report = applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG)
    click.echo(f"   created: {', '.join(report.created)}")

    _step("A severe defect in Production: @U0ANA opens a hotfix, fixed in Pre-Production")
    opened = hotfixes.open_hotfix(
        ctx,
        ANA,
        "ecommerce",
        ["Checkout"],
        "Payment fails for saved cards",
        severity="critical",
    )
    _show(ctx, opened)
    ref = opened.hotfix.ref
    _refused(
        "one unsolved hotfix per application",
        lambda: hotfixes.open_hotfix(ctx, RAJ, "eCommerce", ["Catalog"], "Another defect"),
    )

    _step(f"@U0ANA asks to Tag & Deploy {opened.hotfix.suggested_version} to Production")
    _show(ctx, hotfixes.request_deploy(ctx, ANA, ref))
    _refused("four eyes", lambda: hotfixes.approve_deploy(ctx, ANA, ref))

    _step("@U0LEE approves: Production and Pre-Production run 1.7.1, Pre-Production stays red")
    _show(ctx, hotfixes.approve_deploy(ctx, LEE, ref))
    _refused("the fix has not reached every environment", lambda: hotfixes.solve(ctx, RAJ, ref))
    _refused(
        "Quality Assurance before Development",
        lambda: hotfixes.mark_merged(ctx, RAJ, ref, "dev", "Checkout"),
    )

    _step("Propagate backward: merge Checkout into Quality Assurance")
    _show(ctx, hotfixes.mark_merged(ctx, RAJ, ref, "qa", "Checkout"))

    _step("Then into Development")
    _show(ctx, hotfixes.mark_merged(ctx, RAJ, ref, "Development", "checkout"))

    _step("Mark Hotfix as Solved: nothing is red any more")
    _show(ctx, hotfixes.solve(ctx, RAJ, ref))

    _step(f"History of {ref}")
    _, events = queries.history(ctx, ref)
    click.echo(events_text(events))
