"""The subcommands people type, in Slack (`/hotfix …`) and on the command line: one table.

The `/hotfix` grammar, its help, the Slack handler table and the CLI are all built from
`SUBCOMMANDS`, so they cannot list different things. Adding a subcommand is one entry here plus
the function that runs it on each surface it names (a test fails while one is missing).
Nothing here knows Slack or click: it is the shape of what people type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    WORD = "word"  # one word ("quoted words" count as one)
    NAME = "name"  # the remaining words joined with spaces: a name that may have spaces
    TEXT = "text"  # the remaining words as free text (a summary, a reason)
    USERS = "users"  # one or more people (Slack mentions, or user ids)


class Surface(Enum):
    SLACK = "slack"
    CLI = "cli"


BOTH = frozenset({Surface.SLACK, Surface.CLI})
SLACK_ONLY = frozenset({Surface.SLACK})
CLI_ONLY = frozenset({Surface.CLI})


@dataclass(frozen=True)
class Param:
    """A positional argument: `name` is how code reads it, `usage` how the help shows it."""

    name: str
    usage: str
    kind: Kind = Kind.WORD
    optional: bool = False


@dataclass(frozen=True)
class Flag:
    """An option like `--days 7` (`value` given) or `--force` (no value)."""

    name: str
    help: str
    value: str | None = None  # how the help names its value (`N`); None for an on/off flag
    default: str | None = None
    multiple: bool = False
    surfaces: frozenset[Surface] = BOTH

    @property
    def usage(self) -> str:
        return f"[--{self.name} {self.value}]" if self.value else f"[--{self.name}]"


@dataclass(frozen=True)
class Subcommand:
    name: str  # "deploy", or "app add" for a word under a group word
    summary: str
    params: tuple[Param, ...] = ()
    flags: tuple[Flag, ...] = ()
    surfaces: frozenset[Surface] = BOTH
    admin: bool = False
    alone: str | None = None  # what it does with no arguments at all (`open` opens a form)

    @property
    def usage(self) -> str:
        """`deploy <hotfix-id> [<version>]`: the form shown in the help and usage errors."""
        parts = [self.name, *(p.usage for p in self.params)]
        parts += [f.usage for f in self.flags if Surface.SLACK in f.surfaces]
        return " ".join(parts)

    def on(self, surface: Surface) -> bool:
        return surface in self.surfaces


@dataclass(frozen=True)
class Request:
    """What was typed, read against the table: the subcommand and its arguments."""

    name: str  # a Subcommand.name
    args: tuple[str, ...] = ()  # the WORD and NAME params, in order (optional ones if given)
    rest: str = ""  # the TEXT param (summary, reason)
    users: tuple[str, ...] = ()  # the USERS param
    flags: Mapping[str, str] = field(default_factory=dict)


_HOTFIX = Param("hotfix", "<hotfix-id>")
_ENVIRONMENT = Param("environment", "<environment>")

SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", "this help", surfaces=SLACK_ONLY),
    Subcommand(
        "open",
        "open a hotfix",
        (
            Param("application", "<app>"),
            Param("modules", "<module>[,<module>...]"),
            Param("summary", "<summary...>", Kind.TEXT),
        ),
        flags=(
            Flag(
                "severity", "critical, high, medium or low", "SEVERITY", "high", surfaces=CLI_ONLY
            ),
            Flag(
                "owner",
                "an owner (Slack user id); repeatable",
                "USER",
                multiple=True,
                surfaces=CLI_ONLY,
            ),
            Flag("force", "open although the hotfix environment is out of sync", surfaces=CLI_ONLY),
        ),
        alone="opens a form",
    ),
    Subcommand(
        "status",
        "a hotfix, an application, or everything red",
        (Param("target", "[<hotfix-id>|<app>]", Kind.NAME, optional=True),),
    ),
    Subcommand("list", "the red hotfixes, the oldest first", surfaces=SLACK_ONLY),
    Subcommand(
        "deploy",
        "Tag & Deploy to Production (the next patch by default)",
        (_HOTFIX, Param("version", "[<version>]", optional=True)),
    ),
    Subcommand(
        "approve",
        "approve a requested Tag & Deploy (not by its requester)",
        (_HOTFIX,),
        surfaces=CLI_ONLY,
    ),
    Subcommand(
        "reject",
        "reject a requested Tag & Deploy, with a reason",
        (_HOTFIX, Param("reason", "<reason...>", Kind.TEXT)),
        surfaces=CLI_ONLY,
    ),
    Subcommand(
        "merged",
        "a module has the fix in that environment",
        (_HOTFIX, _ENVIRONMENT, Param("module", "<module>", Kind.NAME)),
    ),
    Subcommand(
        "skip",
        "a module does not need the fix in that environment",
        (
            _HOTFIX,
            _ENVIRONMENT,
            Param("module", "<module>"),
            Param("reason", "<reason...>", Kind.TEXT),
        ),
    ),
    Subcommand("solve", "Mark Hotfix as Solved once every environment has the fix", (_HOTFIX,)),
    Subcommand(
        "cancel",
        "cancel a hotfix that was not deployed yet",
        (_HOTFIX, Param("reason", "<reason...>", Kind.TEXT)),
    ),
    Subcommand(
        "deploy-failed",
        "an approver ends a deployment that will not end; the hotfix goes back to open",
        (_HOTFIX, Param("reason", "<reason...>", Kind.TEXT)),
    ),
    Subcommand("history", "who did what, and when", (_HOTFIX,)),
    Subcommand("apps", "the applications and their pipelines", surfaces=SLACK_ONLY),
    Subcommand(
        "remind",
        "remind the owners every `<every>` (e.g. 4h), or stop",
        (_HOTFIX, Param("every", "<every>|off")),
        surfaces=SLACK_ONLY,
    ),
    Subcommand(
        "snooze",
        "no reminders for a while (e.g. 2h)",
        (_HOTFIX, Param("duration", "<duration>")),
        surfaces=SLACK_ONLY,
    ),
    Subcommand(
        "report",
        "how hotfixes went: counts, times to Production and to solved, skips, a chart",
        (Param("application", "[<app>]", Kind.NAME, optional=True),),
        flags=(
            Flag("days", "the window, in days (default 90)", "<n>"),
            Flag("out", "also draw the chart into this PNG file", "FILE", surfaces=CLI_ONLY),
        ),
    ),
    Subcommand(
        "app add",
        "add an application, in sync everywhere",
        (
            Param("application", "<app>"),
            Param("modules", "<module>[,...]"),
            Param("version", "<version>"),
        ),
        surfaces=SLACK_ONLY,
        admin=True,
    ),
    Subcommand(
        "app owners",
        "replace the owners of an application",
        (Param("application", "<app>"), Param("users", "<@user>...", Kind.USERS)),
        surfaces=SLACK_ONLY,
        admin=True,
    ),
    Subcommand(
        "app approvers",
        "replace who approves its Tag & Deploy",
        (Param("application", "<app>"), Param("users", "<@user>...", Kind.USERS)),
        surfaces=SLACK_ONLY,
        admin=True,
    ),
)


def named(name: str) -> Subcommand | None:
    return next((s for s in SUBCOMMANDS if s.name == name), None)


def on(surface: Surface) -> tuple[Subcommand, ...]:
    """The subcommands one surface offers, in the table's order."""
    return tuple(s for s in SUBCOMMANDS if s.on(surface))


def heads(surface: Surface) -> tuple[str, ...]:
    """The first words a surface accepts (`app` once for `app add`, `app owners`, …)."""
    return tuple(dict.fromkeys(s.name.split()[0] for s in on(surface)))
