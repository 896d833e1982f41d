"""The `/hotfix` grammar: text in, a typed request out. No Slack calls, no domain rules."""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

SUBCOMMANDS = (
    "help",
    "open",
    "status",
    "list",
    "deploy",
    "merged",
    "skip",
    "solve",
    "cancel",
    "history",
    "apps",
    "app",
    "remind",
    "snooze",
    "report",
)
APP_SUBCOMMANDS = ("add", "owners", "approvers")

_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,30})$")


class GrammarError(Exception):
    """Bad input: says what the right form is."""

    def __init__(self, message: str, *, show_help: bool = False, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.show_help = show_help
        self.suggestion = suggestion


@dataclass(frozen=True)
class Request:
    name: str  # one of SUBCOMMANDS, or "app add" / "app owners" / "app approvers"
    args: tuple[str, ...] = ()
    rest: str = ""  # free text (summary, reason)
    users: tuple[str, ...] = field(default_factory=tuple)


USAGE = {
    "open": "open <app> <module>[,<module>...] <summary...>",
    "status": "status [<hotfix-id>|<app>]",
    "deploy": "deploy <hotfix-id> [<version>]",
    "merged": "merged <hotfix-id> <environment> <module>",
    "skip": "skip <hotfix-id> <environment> <module> <reason...>",
    "solve": "solve <hotfix-id>",
    "cancel": "cancel <hotfix-id> <reason...>",
    "history": "history <hotfix-id>",
    "remind": "remind <hotfix-id> <every>|off",
    "snooze": "snooze <hotfix-id> <duration>",
    "report": "report [<app>] [--days <n>]",
    "app add": "app add <app> <module>[,...] <version>",
    "app owners": "app owners <app> <@user>...",
    "app approvers": "app approvers <app> <@user>...",
}


_WORD = re.compile(r'"([^"]*)"|\u201c([^\u201d]*)\u201d|(\S+)')


def split_words(text: str) -> list[str]:
    """Words, where "quoted words" (straight or curly quotes) stay together."""
    words = []
    for match in _WORD.finditer(text):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        words.append(quoted.strip() if quoted is not None else match.group(3))
    return [word for word in words if word]


def parse(text: str) -> Request:
    """Parse what followed `/hotfix`. Slack escapes &, < and > in it; mentions stay <@U…>."""
    words = split_words(text)
    if not words:
        return Request("help")
    head = words[0].casefold()
    if head not in SUBCOMMANDS:
        close = difflib.get_close_matches(head, SUBCOMMANDS, n=1, cutoff=0.5)
        raise GrammarError(
            f"I don't know `{words[0]}`.",
            show_help=True,
            suggestion=close[0] if close else None,
        )
    tail = words[1:]
    if head in ("help", "list", "apps"):
        return Request(head)
    if head == "open":
        if not tail:
            return Request("open")  # no arguments: the modal
        _need(tail, 3, "open")
        return Request("open", (tail[0], tail[1]), rest=_text(tail[2:]))
    if head == "status":
        if len(tail) > 1 and not _looks_like_ref(tail[0]):
            return Request("status", (" ".join(tail),))  # application names may have spaces
        return Request("status", tuple(tail[:1]))
    if head == "deploy":
        _need(tail, 1, "deploy", most=2)
        return Request("deploy", tuple(tail))
    if head == "merged":
        _need(tail, 3, "merged")
        return Request("merged", (tail[0], tail[1], " ".join(tail[2:])))
    if head == "skip":
        _need(tail, 4, "skip")
        return Request("skip", (tail[0], tail[1], tail[2]), rest=_text(tail[3:]))
    if head in ("solve", "history"):
        _need(tail, 1, head, most=1)
        return Request(head, (tail[0],))
    if head == "cancel":
        _need(tail, 2, "cancel")
        return Request("cancel", (tail[0],), rest=_text(tail[1:]))
    if head in ("remind", "snooze"):
        _need(tail, 2, head, most=2)
        return Request(head, (tail[0], tail[1]))
    if head == "report":
        return _parse_report(tail)
    return _parse_app(tail)


def _parse_report(tail: list[str]) -> Request:
    """`report [<app>] [--days N]`: args are (application or "", days or "")."""
    days = ""
    words = list(tail)
    for index, word in enumerate(words):
        if word.casefold() == "--days" or word.casefold().startswith("--days="):
            value = word.partition("=")[2] if "=" in word else None
            taken = 1
            if value is None:
                if index + 1 >= len(words):
                    raise GrammarError(f"usage: `/hotfix {USAGE['report']}`")
                value, taken = words[index + 1], 2
            days = value
            del words[index : index + taken]
            break
    if any(word.startswith("--") for word in words):
        raise GrammarError(f"usage: `/hotfix {USAGE['report']}`")
    return Request("report", (" ".join(words), days))


def _parse_app(tail: list[str]) -> Request:
    if not tail or tail[0].casefold() not in APP_SUBCOMMANDS:
        raise GrammarError(
            "`app` takes `add`, `owners` or `approvers`: "
            f"`{USAGE['app add']}`, `{USAGE['app owners']}`"
        )
    sub = tail[0].casefold()
    name = f"app {sub}"
    rest = tail[1:]
    if sub == "add":
        _need(rest, 3, name, most=3)
        return Request(name, (rest[0], rest[1], rest[2]))
    _need(rest, 2, name)
    users = [_user(word) for word in rest[1:]]
    return Request(name, (rest[0],), users=tuple(users))


def _user(word: str) -> str:
    match = _USER.match(word)
    if not match:
        raise GrammarError(f"`{word}` is not a Slack user: mention people, like @ana")
    return match.group(1) or match.group(2)


def _need(words: list[str], least: int, name: str, most: int | None = None) -> None:
    if len(words) < least or (most is not None and len(words) > most):
        raise GrammarError(f"usage: `/hotfix {USAGE[name]}`")


def _text(words: list[str]) -> str:
    return html.unescape(" ".join(words))


def _looks_like_ref(word: str) -> bool:
    return bool(re.match(r"^hf-?\d+$", word, re.IGNORECASE))
