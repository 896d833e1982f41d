"""Block Kit JSON (as Slack receives it) as readable plain text, for the terminal demo.

A pure function of its input: headers, sections, fields, context and code blocks become lines;
the buttons of an actions block share one line as `[ Label ]`; inputs read `Label: ____`.
mrkdwn is lightly cleaned: `<@U0ANA>` becomes `@U0ANA`, `<!date^…|fallback>` its fallback,
links their label, `*bold*` and `_italic_` lose their marks, and `&lt;` `&gt;` `&amp;` are
unescaped. Code (``` blocks and `spans`) is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_FENCE = "```"
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_EMPTY_INPUT = "____"


def render_blocks(blocks: Iterable[Mapping[str, Any]]) -> str:
    """Blocks as lines of text."""
    lines: list[str] = []
    for block in blocks:
        lines.extend(_block_lines(block))
    return "\n".join(lines)


def render_mrkdwn(text: str) -> str:
    """One mrkdwn text (a thread line, a fallback text) as plain text."""
    return _clean(text)


def render_view(view: Mapping[str, Any]) -> str:
    """A modal or the App Home: its title, its blocks, then the modal's buttons."""
    lines: list[str] = []
    title = _text(view.get("title"))
    if title:
        lines.append(f"== {title} ==")
    body = render_blocks(view.get("blocks") or [])
    if body:
        lines.append(body)
    buttons = [_text(view.get(key)) for key in ("close", "submit")]
    labels = [f"[ {label} ]" for label in buttons if label]
    if labels and view.get("type") == "modal":
        lines.append("  ".join(labels))
    return "\n".join(lines)


def _block_lines(block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        text = _text(block.get("text"))
        return [text, "=" * min(len(text), 80)]
    if kind == "section":
        lines = _mrkdwn_lines(block.get("text"))
        for field in block.get("fields") or []:
            lines.extend(_mrkdwn_lines(field))
        accessory = block.get("accessory")
        if accessory:
            element = _element(accessory)
            if lines:
                lines[-1] = f"{lines[-1]}  {element}".strip()
            else:
                lines.append(element)
        return lines
    if kind == "context":
        parts = []
        for element in block.get("elements") or []:
            if element.get("type") == "image":
                parts.append(f"[{element.get('alt_text', 'image')}]")
            else:
                parts.append(_clean(_text(element)))
        return "  ".join(parts).splitlines()
    if kind == "actions":
        return ["  ".join(_element(e) for e in block.get("elements") or [])]
    if kind == "divider":
        return ["-" * 40]
    if kind == "input":
        return _input_lines(block)
    if kind == "markdown":
        return _clean(str(block.get("text", ""))).splitlines()
    if kind == "rich_text":
        return _rich_text_lines(block)
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    return [f"[{kind}]"]


def _input_lines(block: Mapping[str, Any]) -> list[str]:
    label = _text(block.get("label"))
    element = block.get("element") or {}
    value = _input_value(element)
    optional = " (optional)" if block.get("optional") else ""
    lines = [f"{label}{optional}: {value}"]
    hint = _text(block.get("hint"))
    if hint:
        lines.append(f"  ({hint})")
    return lines


def _input_value(element: Mapping[str, Any]) -> str:
    kind = element.get("type", "")
    if element.get("initial_value"):
        return str(element["initial_value"])
    if element.get("initial_option"):
        return f"{_text(element['initial_option'].get('text'))} ▾"
    if kind.endswith("select"):
        options = [_text(o.get("text")) for o in element.get("options") or []]
        shown = f" ({' | '.join(options[:6])}{' | …' if len(options) > 6 else ''})"
        placeholder = _text(element.get("placeholder")) or "choose"
        return f"{_EMPTY_INPUT} ▾ {placeholder}{shown if options else ''}"
    placeholder = _text(element.get("placeholder"))
    return f"{_EMPTY_INPUT} {placeholder}".rstrip() if placeholder else _EMPTY_INPUT


def _element(element: Mapping[str, Any]) -> str:
    kind = element.get("type", "")
    if kind == "button":
        return f"[ {_text(element.get('text'))} ]"
    if kind.endswith("select") or kind == "overflow":
        label = _text(element.get("placeholder")) or "choose"
        return f"[ {label} ▾ ]"
    if kind == "image":
        return f"[{element.get('alt_text', 'image')}]"
    return f"[{kind}]"


def _text(obj: Any) -> str:
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, Mapping):
        return str(obj.get("text", ""))
    return str(obj)


def _mrkdwn_lines(obj: Any) -> list[str]:
    if isinstance(obj, Mapping) and obj.get("type") == "plain_text":
        return _text(obj).splitlines()
    return _clean(_text(obj)).splitlines()


def _clean(text: str) -> str:
    """mrkdwn as plain text; code blocks are kept (indented), without their fences."""
    pieces = text.split(_FENCE)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            code = _unescape(piece.strip("\n"))
            out.append("\n".join(f"  {line}" for line in code.splitlines()))
        else:
            prose = _clean_prose(piece)
            if index > 0:
                prose = prose.removeprefix("\n")
            if index < len(pieces) - 1:
                prose = prose.removesuffix("\n")
            if prose:
                out.append(prose)
    cleaned = "\n".join(out)
    return "\n".join(line.rstrip() for line in cleaned.strip("\n").splitlines())


def _clean_prose(text: str) -> str:
    """Links, mentions and dates as text, emphasis marks dropped; `code spans` kept as is."""
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(keep, text)
    text = _LINK.sub(_link, text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)
    return _unescape(text)


def _link(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!subteam^"):
        return label or "@group"
    if target.startswith("!"):
        return f"@{target[1:]}"
    return f"{label} ({target})" if label else target


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _rich_text_lines(block: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for element in block.get("elements") or []:
        text = "".join(_rich_piece(piece) for piece in element.get("elements") or [])
        if element.get("type") == "rich_text_preformatted":
            lines.extend(f"  {line}" for line in text.splitlines())
        else:
            lines.extend(text.splitlines())
    return lines


def _rich_piece(piece: Mapping[str, Any]) -> str:
    kind = piece.get("type")
    if kind == "text":
        return str(piece.get("text", ""))
    if kind == "user":
        return f"@{piece.get('user_id', '')}"
    if kind == "channel":
        return f"#{piece.get('channel_id', '')}"
    if kind == "emoji":
        return f":{piece.get('name', '')}:"
    if kind == "link":
        return str(piece.get("text") or piece.get("url", ""))
    if kind in ("rich_text_section", "rich_text_list"):
        return "".join(_rich_piece(p) for p in piece.get("elements") or []) + "\n"
    return ""
