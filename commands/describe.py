"""Events in words, for threads, the history and the CLI. `mention` renders a user id."""

from __future__ import annotations

from collections.abc import Callable

from commands.results import EventLine

Mention = Callable[[str], str]


def describe_event(event: EventLine, mention: Mention) -> str:
    who = mention(event.actor)
    d = event.details
    match event.kind:
        case "opened":
            text = (
                f"{who} opened the hotfix ({d.get('severity')}) for "
                f"{', '.join(d.get('modules', []))} on {d.get('base_version')}"
            )
            if d.get("forced"):
                text += f", forced although {d['forced']}"
            return text
        case "deploy_requested":
            return f"{who} requested Tag & Deploy {d.get('version')} to Production"
        case "approved":
            if d.get("deployer"):
                return f"{who} approved Tag & Deploy {d.get('version')}: {d['deployer']} deploys it"
            return f"{who} approved Tag & Deploy {d.get('version')}: deployed to Production"
        case "deployed":
            text = f"{who} tagged and deployed {d.get('version')} to Production"
            if d.get("deployer"):
                text = f"{d.get('deployer')} deployed {d.get('version')} to Production"
            if d.get("warnings"):
                text += f", with warnings: {d['warnings']}"
            return text
        case "rejected":
            return f"{who} rejected Tag & Deploy {d.get('version')}: {d.get('reason')}"
        case "merged":
            return f"{who} merged {d.get('module')} into {d.get('environment')}"
        case "skipped":
            return f"{who} skipped {d.get('module')} in {d.get('environment')}: {d.get('reason')}"
        case "solved":
            return f"{who} marked the hotfix as solved"
        case "cancelled":
            return f"{who} cancelled the hotfix: {d.get('reason')}"
        case "deploy_started":
            return f"{who} started Tag & Deploy {d.get('version')} through {d.get('deployer')}"
        case "deploy_failed":
            return (
                f"the deployment of {d.get('version')} did not finish ({d.get('status')}): "
                f"{d.get('reason')}"
            )
        case "deploy_needs_intervention":
            return f"the deployment of {d.get('version')} waits for a person: {d.get('info')}"
        case "deploy_stuck":
            return f"the deployment of {d.get('version')} shows no progress: {d.get('info')}"
        case "deploy_continued":
            return f"{who} continued the deployment of {d.get('version')}"
        case "deploy_retried":
            return f"{who} retried the deployment of {d.get('version')}"
        case "snoozed":
            return f"{who} snoozed the reminders for {d.get('for')}"
        case "reminders_set":
            return f"{who} set the reminders to every {d.get('every')}"
        case "reminders_off":
            return f"{who} turned the reminders off"
        case _:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(d.items()))
            return f"{who}: {event.kind.replace('_', ' ')}" + (f" ({extra})" if extra else "")


def describe_duration(seconds: float) -> str:
    """`3 h 12 min`, `12 min`, `2 d 4 h`: how long something has been red, for people."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
