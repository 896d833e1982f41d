"""The `/hotfix` grammar: text in, a typed request out. No Slack calls, no domain rules.

Which subcommands exist and what they take comes from one table, `commands.subcommands`.
"""

from __future__ import annotations

import difflib
import re

from commands.subcommands import Kind, Request, Subcommand, Surface, heads, named, on

__all__ = ["GrammarError", "Request", "parse", "split_words", "unescape"]

_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,30})$")
_FLAG = re.compile(r"^--([a-z][a-z0-9-]*)(?:=(.*))?$")
_WORD = re.compile(r'"([^"]*)"|\u201c([^\u201d]*)\u201d|(\S+)')


class GrammarError(Exception):
    """Bad input: says what the right form is."""

    def __init__(
        self,
        message: str,
        *,
        show_help: bool = False,
        suggestion: str | None = None,
        unknown: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.show_help = show_help
        self.suggestion = suggestion
        self.unknown = unknown  # the word that is not a subcommand, as typed


def unescape(text: str) -> str:
    """Undo Slack's escaping of the command text: it sends `&`, `<`, `>` as `&amp;`, `&lt;`,
    `&gt;` and nothing else (https://api.slack.com/reference/surfaces/formatting#escaping).
    Mentions and links (`<@U…|raj>`, `<https://…|ticket>`) arrive as written and stay so.
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_words(text: str) -> list[str]:
    """Words, where "quoted words" (straight or curly quotes) stay together."""
    words = []
    for match in _WORD.finditer(text):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        words.append(quoted.strip() if quoted is not None else match.group(3))
    return [word for word in words if word]


def parse(text: str) -> Request:
    """Parse what followed `/hotfix`, as Slack sends it (escaped; mentions as <@U…>)."""
    words = [unescape(word) for word in split_words(text)]
    if not words:
        return Request("help")
    head = words[0].casefold()
    if head not in heads(Surface.SLACK):
        close = difflib.get_close_matches(head, heads(Surface.SLACK), n=1, cutoff=0.5)
        raise GrammarError(
            f"I don't know `{words[0]}`.",
            show_help=True,
            suggestion=close[0] if close else None,
            unknown=words[0],
        )
    spec = named(head)
    tail = words[1:]
    if spec is None or not spec.on(Surface.SLACK):  # a group word, like `app`
        group = [s for s in on(Surface.SLACK) if s.name.split()[0] == head]
        choice = named(f"{head} {tail[0].casefold()}") if tail else None
        if choice is None or choice not in group:
            forms = ", ".join(f"`{s.usage}`" for s in group)
            raise GrammarError(f"`{head}` takes one of: {forms}")
        spec, tail = choice, tail[1:]
    return _read(spec, tail)


def _read(spec: Subcommand, words: list[str]) -> Request:
    flags, words = _flags(spec, words)
    if not spec.params:
        return Request(spec.name, flags=flags)  # anything after `list`, `help`, … is ignored
    if not words and spec.alone is not None:
        return Request(spec.name, flags=flags)
    args: list[str] = []
    rest = ""
    users: tuple[str, ...] = ()
    left = list(words)
    for param in spec.params:
        if not left:
            if param.optional:
                continue
            raise _usage(spec)
        if param.kind is Kind.WORD:
            args.append(left.pop(0))
        elif param.kind is Kind.NAME:
            args.append(" ".join(left))
            left = []
        elif param.kind is Kind.TEXT:
            rest = " ".join(left)
            left = []
        else:
            users = tuple(_user(word) for word in left)
            left = []
    if left:
        raise _usage(spec)
    return Request(spec.name, tuple(args), rest=rest, users=users, flags=flags)


def _flags(spec: Subcommand, words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Takes `--name value` (or `--name`) out of the words, for the flags Slack accepts."""
    known = {f.name: f for f in spec.flags if Surface.SLACK in f.surfaces}
    if not known:
        return {}, words
    flags: dict[str, str] = {}
    kept: list[str] = []
    index = 0
    while index < len(words):
        match = _FLAG.match(words[index].casefold())
        if match is None:
            kept.append(words[index])
            index += 1
            continue
        flag = known.get(match.group(1))
        if flag is None:
            raise GrammarError(f"`{words[index]}` is not an option here: `/hotfix {spec.usage}`")
        inline = match.group(2)
        if flag.value is None:
            flags[flag.name] = "true"
            index += 1
            continue
        if inline is not None:
            flags[flag.name] = words[index].partition("=")[2]
            index += 1
            continue
        if index + 1 >= len(words):
            raise GrammarError(f"`--{flag.name}` needs a value: `/hotfix {spec.usage}`")
        flags[flag.name] = words[index + 1]
        index += 2
    return flags, kept


def _usage(spec: Subcommand) -> GrammarError:
    return GrammarError(f"usage: `/hotfix {spec.usage}`")


def _user(word: str) -> str:
    match = _USER.match(word)
    if not match:
        raise GrammarError(f"`{word}` is not a Slack user: mention people, like @ana")
    return match.group(1) or match.group(2)
