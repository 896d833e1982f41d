"""Small mrkdwn helpers shared by the views: mentions, escaping, truncation, times, pipelines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from commands.describe import describe_duration
from commands.results import EnvironmentLine

ELLIPSIS = "…"
# Slack's limits (https://api.slack.com/reference/block-kit/blocks), with a little headroom.
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
FALLBACK_LIMIT = 300

_USER_ID = re.compile(r"^[UWB][A-Z0-9]{2,30}$")


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# A mention, a channel or a link as Slack writes it in what people type: `<@U0RAJ|raj>`,
# `<#C0INCIDENT|incident>`, `<https://x.example|ticket>` (label optional). See "Linking to
# URLs" and "Mentioning users" in https://api.slack.com/reference/surfaces/formatting.
# Broadcasts (`<!here>`, `<!channel>`) are deliberately not among them: a summary never pings.
_REFERENCE = re.compile(
    r"<(@[UW][A-Z0-9]{2,30}|#C[A-Z0-9]{2,30}|(?:https?://|mailto:)[^|<>\s]+)(?:\|([^<>]*))?>"
)


def has_references(text: str) -> bool:
    return _REFERENCE.search(text) is not None


def rich(text: str) -> str:
    """People's free text (a summary, a reason) for mrkdwn: their mentions and links stay live,
    everything else is escaped."""
    parts: list[str] = []
    last = 0
    for match in _REFERENCE.finditer(text):
        parts.append(escape(text[last : match.start()]))
        target, label = escape(match.group(1)), match.group(2)
        parts.append(f"<{target}|{escape(label)}>" if label else f"<{target}>")
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


def readable(text: str) -> str:
    """The same text where Block Kit takes plain text only (headers, titles, buttons, the
    notification): `@raj`, `#incident`, `ticket`. Not escaped: plain_text shows it as is."""

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target[0] in "@#":
            return target[0] + (label or target[1:])
        return label or target.removeprefix("mailto:")

    return _REFERENCE.sub(shown, text)


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending with an ellipsis when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def mention(user: str) -> str:
    """`<@U0ANA>` for a Slack user id; anything else (a CLI user) as escaped plain text."""
    return f"<@{user}>" if _USER_ID.match(user) else escape(user)


def mentions(users: Iterable[str], *, empty: str = "nobody", limit: int = 500) -> str:
    return join_limited([mention(u) for u in users], limit, separator=" ") or empty


def join_limited(
    items: Sequence[str], limit: int, *, separator: str = ", ", more: str = "and {n} more"
) -> str:
    """Join whole items while they fit in `limit` characters, then say how many are left.

    Items are never cut in the middle, so a mention or a code span stays intact.
    """
    joined = separator.join(items)
    if len(joined) <= limit:
        return joined
    kept: list[str] = []
    for item in items:
        candidate = [*kept, item]
        left = len(items) - len(candidate)
        if len(separator.join([*candidate, f"{ELLIPSIS}{more.format(n=left)}"])) > limit:
            break
        kept = candidate
    tail = f"{ELLIPSIS}{more.format(n=len(items) - len(kept))}"
    return separator.join([*kept, tail]) if kept else truncate(tail, limit)


def join_lines(lines: Sequence[str], limit: int, *, more: str = "…and {n} more") -> str:
    """Whole lines while they fit in `limit` characters, then a line saying how many are left."""
    return join_limited(lines, limit, separator="\n", more=more.removeprefix(ELLIPSIS))


def and_list(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def ago(now: datetime, then: datetime) -> str:
    """How long since `then`, in words (`12 min`)."""
    return describe_duration(max((now - then).total_seconds(), 0.0))


def date_token(moment: datetime, style: str = "{date_short_pretty} {time}") -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    return f"<!date^{int(moment.timestamp())}^{style}|{moment:%Y-%m-%d %H:%M} UTC>"


def marker(line: EnvironmentLine) -> str:
    if line.red:
        return "🔴"
    if line.fix == "has the fix":
        return "✅"
    return ""


def pipeline_code(
    lines: Sequence[EnvironmentLine], *, with_fix: bool = True, limit: int = SECTION_TEXT_LIMIT
) -> str:
    """The pipeline as an aligned code block: name, version (`1.7.0+`), 🔴 marker, fix text."""
    if not lines:
        return "_no environments_"
    name_width = min(max(len(line.name) for line in lines), 40) + 2
    version_width = max(len(line.shown_version) for line in lines) + 2
    rows = []
    for line in lines:
        name = truncate(line.name, name_width - 2)
        row = f"{name:<{name_width}}{line.shown_version:<{version_width}}"
        mark = marker(line)
        if mark:
            row += f"{mark} "
        if with_fix and line.fix:
            row += line.fix
        if line.lifetime_differs:
            row = f"{row.rstrip()}  (LifeTime: {line.lifetime})"
        rows.append(escape(row.rstrip()))
    body = join_lines(rows, limit - 8)
    return f"```\n{body}\n```"


def pipeline_inline(lines: Sequence[EnvironmentLine]) -> str:
    """`Production 1.7.0 · Pre-Production 1.7.0+ 🔴 · …` for one-line summaries."""
    parts = []
    for line in lines:
        mark = " 🔴" if line.red else ""
        if line.lifetime_differs:
            mark += f" (LifeTime: `{escape(line.lifetime or '')}`)"
        parts.append(f"{escape(line.name)} `{escape(line.shown_version)}`{mark}")
    return " · ".join(parts)
