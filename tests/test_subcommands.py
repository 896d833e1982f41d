"""One table of subcommands: the grammar, the help, the Slack handlers and the CLI follow it."""

from __future__ import annotations

import re

import click
import pytest

from bot import grammar
from bot.listeners.commands import subcommands as slack_handlers
from bot.views import help_reply
from bot.views.text import escape
from cli.main import main
from commands.subcommands import SUBCOMMANDS, Kind, Param, Subcommand, Surface, on

INFRASTRUCTURE = {"db", "catalog", "serve", "demo"}  # CLI commands that are not subcommands


def example(param: Param) -> list[str]:
    """Words a person could type for `param`."""
    return {
        Kind.WORD: ["HF-1"],
        Kind.NAME: ["Quality", "Assurance"],
        Kind.TEXT: ["because", "&amp;", "why"],
        Kind.USERS: ["<@U0ANA|ana>", "U0RAJ"],
    }[param.kind]


def typed(command: Subcommand) -> str:
    return " ".join([command.name, *(w for p in command.params for w in example(p))])


@pytest.mark.parametrize("command", on(Surface.SLACK), ids=lambda c: c.name)
def test_the_grammar_parses_every_slack_subcommand_of_the_table(command: Subcommand) -> None:
    request = grammar.parse(typed(command))

    assert request.name == command.name
    words = [p for p in command.params if p.kind in (Kind.WORD, Kind.NAME)]
    assert len(request.args) == len(words)
    if any(p.kind is Kind.TEXT for p in command.params):
        assert request.rest == "because & why"
    if any(p.kind is Kind.USERS for p in command.params):
        assert request.users == ("U0ANA", "U0RAJ")


@pytest.mark.parametrize(
    "command",
    [c for c in on(Surface.SLACK) if any(not p.optional for p in c.params)],
    ids=lambda c: c.name,
)
def test_too_few_words_get_the_usage_from_the_table(command: Subcommand) -> None:
    if command.alone is not None:
        assert grammar.parse(command.name).name == command.name  # e.g. the open form
        return
    with pytest.raises(grammar.GrammarError) as caught:
        grammar.parse(command.name)
    assert caught.value.message == f"usage: `/hotfix {command.usage}`"


def test_a_subcommand_offered_only_on_the_cli_is_unknown_in_slack() -> None:
    for command in on(Surface.CLI):
        if not command.on(Surface.SLACK):
            with pytest.raises(grammar.GrammarError):
                grammar.parse(typed(command))


def test_the_help_shows_every_slack_subcommand_once_and_nothing_else() -> None:
    _, blocks = help_reply()
    shown = "\n".join(b.to_dict().get("text", {}).get("text", "") for b in blocks)
    lines = [line for line in shown.splitlines() if line.startswith("• `/hotfix ")]

    assert len(lines) == len(on(Surface.SLACK))
    for command in on(Surface.SLACK):
        assert sum(line.startswith(f"• `/hotfix {escape(command.usage)}`") for line in lines) == 1


def test_the_slack_handlers_are_exactly_the_tables() -> None:
    assert list(slack_handlers.handlers()) == [c.name for c in on(Surface.SLACK)]


def test_the_cli_offers_exactly_the_tables_subcommands_with_their_arguments() -> None:
    offered = {name for name in main.commands if name not in INFRASTRUCTURE}
    assert offered == {c.name for c in on(Surface.CLI)}
    for command in on(Surface.CLI):
        cli = main.commands[command.name]
        arguments = [p for p in cli.params if isinstance(p, click.Argument)]
        assert [a.name for a in arguments] == [p.name for p in command.params]
        for argument, param in zip(arguments, command.params, strict=True):
            assert argument.required is not param.optional
            assert (argument.nargs == -1) is (param.kind in (Kind.TEXT, Kind.USERS))
        options = {o.name for o in cli.params if isinstance(o, click.Option)}
        assert {f.name for f in command.flags if Surface.CLI in f.surfaces} <= options


def test_adding_a_subcommand_is_one_entry_and_each_surface_refuses_a_missing_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = Subcommand(
        "digest",
        "what was red, per application",
        (Param("application", "[<app>]", optional=True),),
    )
    from commands import subcommands as table

    monkeypatch.setattr(table, "SUBCOMMANDS", (*SUBCOMMANDS, digest))
    # The grammar and the help follow at once ...
    assert grammar.parse("digest eCommerce").args == ("eCommerce",)
    _, blocks = help_reply()
    assert any("digest [&lt;app&gt;]" in str(b.to_dict()) for b in blocks)
    # ... and a surface without a handler for it refuses to start.
    with pytest.raises(LookupError, match="digest"):
        slack_handlers.handlers()
    from cli import main as cli_main

    with pytest.raises(LookupError, match="digest"):
        cli_main._add_subcommands(click.Group("scratch"))


def test_flags_are_read_by_the_grammar_when_slack_offers_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from commands import subcommands as table

    digest = Subcommand(
        "digest",
        "what was red",
        (Param("application", "[<app>]", optional=True),),
        flags=(table.Flag("days", "how many days back", "N", "7"),),
    )
    monkeypatch.setattr(table, "SUBCOMMANDS", (*SUBCOMMANDS, digest))
    assert digest.usage == "digest [<app>] [--days N]"
    request = grammar.parse("digest --days 30 eCommerce")
    assert request.args == ("eCommerce",) and request.flags == {"days": "30"}
    assert grammar.parse("digest").flags == {}
    with pytest.raises(grammar.GrammarError, match=re.escape("`--days` needs a value")):
        grammar.parse("digest --days")
