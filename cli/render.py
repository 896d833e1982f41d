"""Plain-text views of snapshots, for the terminal."""

from __future__ import annotations

from datetime import datetime

from commands.describe import describe_duration, describe_event
from commands.lifecycle import HotfixState
from commands.report_results import HotfixReport, describe_figures
from commands.results import ApplicationSnapshot, EventLine, HotfixSnapshot

RED = "\033[31m"
GREEN = "\033[32m"
BOLD = "\033[1m"
RESET = "\033[0m"


def mention(user: str) -> str:
    return f"@{user}"


def paint(text: str, color: str, enabled: bool) -> str:
    return f"{color}{text}{RESET}" if enabled else text


def hotfix_text(hotfix: HotfixSnapshot, now: datetime, *, color: bool = False) -> str:
    marker = "RED" if hotfix.red else ("SOLVED" if hotfix.state is HotfixState.SOLVED else "--")
    head = (
        f"[{marker}] {hotfix.ref} · {hotfix.application} · {hotfix.summary}"
        f"   severity: {hotfix.severity.value}"
    )
    lines = [paint(head, RED if hotfix.red else GREEN, color)]
    age = describe_duration((now - hotfix.opened_at).total_seconds())
    lines.append(
        f"Owners: {' '.join(mention(o) for o in hotfix.owners)} · opened by "
        f"{mention(hotfix.opened_by)} {age} ago · modules: {', '.join(hotfix.modules)}"
    )
    lines.append("")
    for environment in hotfix.pipeline:
        flag = paint("RED", RED, color) + " " if environment.red else ""
        lines.append(
            f"  {environment.name:<20}{environment.shown_version:<10}{flag}{environment.fix}"
        )
    if hotfix.checklist:
        lines.append("")
        lines.append("  Propagation checklist")
        for item in hotfix.checklist:
            extra = f" ({item.reason})" if item.reason else ""
            by = f" by {mention(item.done_by)}" if item.done_by else ""
            lines.append(
                f"    {item.environment:<20}{item.module:<14}{item.status.value}{by}{extra}"
            )
    lines.append("")
    lines.append(f"Next: {hotfix.step}")
    return "\n".join(lines)


def application_text(application: ApplicationSnapshot) -> str:
    lines = [f"{application.name}  (modules: {', '.join(application.modules)})"]
    if application.active_hotfix:
        lines[0] += f"  red: {application.active_hotfix}"
    for environment in application.pipeline:
        flag = " RED" if environment.red else ""
        lines.append(f"  {environment.name:<20}{environment.shown_version}{flag}")
    return "\n".join(lines)


def events_text(events: list[EventLine]) -> str:
    return "\n".join(
        f"{event.at:%Y-%m-%d %H:%M:%S} UTC  {describe_event(event, mention)}" for event in events
    )


def report_text(report: HotfixReport, now: datetime) -> str:
    """The report's figures: overall, then each application when it covers several."""
    scope = report.application or "all applications"
    parts = [f"Hotfixes, {scope}, last {report.days} days"]
    sections = [("Overall", report.overall)]
    if report.application is None:
        sections += list(report.applications)
    for title, figures in sections:
        parts.append("")
        parts.append(title)
        parts.extend(f"  {line}" for line in describe_figures(figures, now))
    return "\n".join(parts)
