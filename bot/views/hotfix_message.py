"""The living hotfix message (one per hotfix, updated in place) and its thread lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block

from bot import ids
from bot.views.kit import button, confirm, context, header, section
from bot.views.text import (
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    ago,
    and_list,
    escape,
    has_references,
    join_limited,
    join_lines,
    mention,
    mentions,
    pipeline_code,
    readable,
    rich,
    truncate,
)
from commands.describe import describe_duration, describe_event
from commands.lifecycle import HotfixState, ItemStatus
from commands.results import ChecklistLine, EventLine, HotfixSnapshot

# Pending modules shown with their own Merged / Skip… buttons; the rest are summarised.
MAX_MODULE_BUTTONS = 15
SUMMARY_IN_HEADER = 90

_STATE_EMOJI = {HotfixState.SOLVED: "✅", HotfixState.CANCELLED: "⚪"}
_EVENT_EMOJI = {
    "opened": "🔴",
    "deploy_requested": "🏷️",
    "approved": "🚀",
    "deployed": "🚀",
    "rejected": "↩️",
    "merged": "🔀",
    "skipped": "⏭️",
    "solved": "✅",
    "cancelled": "⚪",
    "deploy_started": "🚚",
    "deploy_failed": "💥",
    "deploy_needs_intervention": "✋",
    "deploy_stuck": "⏳",
    "deploy_continued": "▶️",
    "deploy_retried": "🔁",
    "snoozed": "😴",
    "reminders_set": "⏰",
    "reminders_off": "🔕",
}


def state_emoji(hotfix: HotfixSnapshot) -> str:
    return "🔴" if hotfix.red else _STATE_EMOJI.get(hotfix.state, "⚪")


def hotfix_message(hotfix: HotfixSnapshot, now: datetime) -> tuple[str, list[Block]]:
    """The living message: fallback text and blocks, with only the buttons the state allows."""
    return fallback_text(hotfix), hotfix_blocks(hotfix, now, interactive=True)


def fallback_text(hotfix: HotfixSnapshot) -> str:
    """The notification text: who, what, and the step it waits on."""
    if hotfix.red:
        status = f"next: {hotfix.step}"
    elif hotfix.state is HotfixState.SOLVED:
        status = "solved"
    else:
        status = "cancelled"
    head = f"{state_emoji(hotfix)} {hotfix.ref} · {hotfix.application} · "
    summary = truncate(readable(hotfix.summary), 120)
    return escape(truncate(f"{head}{summary} ({status})", FALLBACK_LIMIT))


def hotfix_blocks(hotfix: HotfixSnapshot, now: datetime, *, interactive: bool) -> list[Block]:
    """The message body; `interactive=False` (status replies) leaves every button out."""
    blocks: list[Block] = [header(title_line(hotfix))]
    blocks.append(context(meta_line(hotfix, now)))
    if (
        len(hotfix.summary) > SUMMARY_IN_HEADER
        or len(title_line(hotfix)) > HEADER_LIMIT
        or has_references(hotfix.summary)  # the header is plain text: mentions and links here
    ):
        blocks.append(section(f"*Defect:* {rich(hotfix.summary)}"))
    status = status_text(hotfix)
    if status:
        blocks.append(section(status))
    with_fix = hotfix.state is not HotfixState.CANCELLED
    blocks.append(section(pipeline_code(hotfix.pipeline, with_fix=with_fix)))
    finished = finished_environments(hotfix)
    if finished:
        blocks.append(context(finished))
    if hotfix.red:
        blocks.append(context(f"*Next:* {escape(next_step(hotfix))}"))
    if hotfix.state is HotfixState.PROPAGATING and hotfix.active_environment is not None:
        blocks.extend(checklist_blocks(hotfix, hotfix.active_environment, interactive))
    if interactive:
        actions = state_actions(hotfix)
        if actions is not None:
            blocks.append(actions)
    return blocks


def next_step(hotfix: HotfixSnapshot, limit: int = 200) -> str:
    """`hotfix.step`, or a count of the pending modules when the list is too long to read."""
    step = hotfix.step
    active = hotfix.active_environment
    if len(step) <= limit or active is None:
        return truncate(step, limit)
    pending = len(hotfix.pending_modules(active))
    return f"{active}: {pending} modules not merged"


def title_line(hotfix: HotfixSnapshot) -> str:
    summary = truncate(readable(hotfix.summary), SUMMARY_IN_HEADER)
    return f"{state_emoji(hotfix)} {hotfix.ref} · {hotfix.application} · {summary}"


def meta_line(hotfix: HotfixSnapshot, now: datetime) -> str:
    modules = join_limited([escape(m) for m in hotfix.modules], 300)
    parts = [
        f"severity: *{hotfix.severity.value}*",
        f"owners: {mentions(hotfix.owners)}",
        f"opened by {mention(hotfix.opened_by)} {ago(now, hotfix.opened_at)} ago",
        f"modules: {modules}",
    ]
    return " · ".join(parts)


def status_text(hotfix: HotfixSnapshot) -> str:
    """What happened so far, in one or two lines, for the current state."""
    state = hotfix.state
    if state is HotfixState.OPEN:
        if hotfix.forced:
            return (
                f"⚠️ Opened with force: {escape(hotfix.hotfix_environment)} was not in sync "
                f"with Production ({escape(hotfix.base_version)})."
            )
        return ""
    if state is HotfixState.AWAITING_APPROVAL:
        return approval_text(hotfix)
    if state is HotfixState.DEPLOYING:
        return deploying_text(hotfix)
    if state is HotfixState.PROPAGATING:
        deployed = deployed_text(hotfix)
        if hotfix.active_environment is None:
            return f"🎯 *Every environment has the fix.*\n{deployed}"
        order = hotfix.propagation_order
        position = order.index(hotfix.active_environment) + 1
        return (
            f"🚀 deployed as *{escape(hotfix.deployed_version or '?')}* · propagating "
            f"(*{escape(hotfix.active_environment)}*, {position} of {len(order)})\n{deployed}"
        )
    after = ""
    if hotfix.closed_at is not None:
        after = f" after {describe_duration((hotfix.closed_at - hotfix.opened_at).total_seconds())}"
    who = mention(hotfix.closed_by) if hotfix.closed_by else "someone"
    if state is HotfixState.SOLVED:
        facts = [f"deployed as *{escape(hotfix.deployed_version or '?')}*"]
        merged = [e for e in hotfix.propagation_order if _has(hotfix, e, ItemStatus.MERGED)]
        skipped = [
            e
            for e in hotfix.propagation_order
            if _has(hotfix, e, ItemStatus.SKIPPED) and not _has(hotfix, e, ItemStatus.MERGED)
        ]
        if merged:
            facts.append(f"merged into {escape(and_list(merged))}")
        if skipped:
            facts.append(f"skipped in {escape(and_list(skipped))}")
        facts.append("nothing red")
        return (
            f"✅ *{hotfix.ref}* · {escape(hotfix.application)} · solved by {who}{after}\n"
            + " · ".join(facts)
        )
    reason = f": {rich(hotfix.close_reason)}" if hotfix.close_reason else ""
    return f"⚪ *{hotfix.ref}* · cancelled by {who}{after}{reason}"


def deploying_text(hotfix: HotfixSnapshot) -> str:
    deployment = hotfix.deployment
    version = escape(hotfix.requested_version or "?")
    if deployment is None:
        return f"🚚 *Deploying {version}…*"
    through = {"lifetime": "LifeTime", "webhook": "the deploy pipeline"}.get(
        deployment.deployer, deployment.deployer
    )
    lines = [f"🚚 *Deploying {version}…* through {through} · {escape(deployment.status)}"]
    if deployment.last_log:
        lines.append(f"> {escape(truncate(deployment.last_log, 300))}")
    if deployment.needs_intervention:
        lines.append(
            "✋ The deployment waits for a person: an approver can continue or abort it."
            + (f" {escape(truncate(deployment.info, 300))}" if deployment.info else "")
        )
    elif deployment.unrecognised:
        lines.append(
            f"❓ {escape(through)} answers *{escape(truncate(deployment.status, 100))}*, a status "
            "the bot cannot follow: check it there, then an approver can abort it or mark the "
            "deploy failed."
        )
    elif deployment.stuck:
        lines.append(
            "⏳ No progress for a while"
            + (f" ({escape(truncate(deployment.info, 300))})" if deployment.info else "")
            + ": retry or abort it, or mark the deploy failed if it will not end."
        )
    return "\n".join(lines)


def approval_text(hotfix: HotfixSnapshot) -> str:
    requester = mention(hotfix.requested_by) if hotfix.requested_by else "someone"
    others = [a for a in hotfix.approvers if a != hotfix.requested_by]
    approvers = mentions(others, empty="none besides the requester: ask an admin")
    return (
        f"🏷️ Tag & Deploy *{escape(hotfix.requested_version or '?')}* to Production "
        f"requested by {requester} · approvers: {approvers} (not the requester)"
    )


def deployed_text(hotfix: HotfixSnapshot) -> str:
    parts = []
    if hotfix.deployed_by:
        parts.append(f"deployed by {mention(hotfix.deployed_by)}")
    if hotfix.approved_by:
        parts.append(f"approved by {mention(hotfix.approved_by)}")
    text = ", ".join(parts)
    if hotfix.deployed_version and not hotfix.active_environment:
        text = f"deployed as *{escape(hotfix.deployed_version)}*" + (f" ({text})" if text else "")
    return text


def _has(hotfix: HotfixSnapshot, environment: str, status: ItemStatus) -> bool:
    return any(item.status is status for item in hotfix.checklist_of(environment))


def finished_environments(hotfix: HotfixSnapshot) -> str:
    """`✅ Quality Assurance: Checkout merged by @raj` for each environment already complete."""
    if hotfix.state is not HotfixState.PROPAGATING:
        return ""
    lines = []
    for environment in hotfix.propagation_order:
        if environment == hotfix.active_environment:
            break
        items = hotfix.checklist_of(environment)
        lines.append(f"✅ *{escape(environment)}*: {done_summary(items)}")
    return join_lines(lines, 1900)


def done_summary(items: tuple[ChecklistLine, ...], limit: int = 400) -> str:
    """The done items of one environment: each one when few, else counts."""
    merged = sum(1 for item in items if item.status is ItemStatus.MERGED)
    skipped = sum(1 for item in items if item.status is ItemStatus.SKIPPED)
    text = join_limited([done_item(item) for item in items if item.status.is_done], 10**6)
    if len(text) <= limit:
        return text
    return f"{merged} merged, {skipped} skipped"


def evidence(item: ChecklistLine) -> str:
    """What the LifeTime watch saw: "new Checkout published in Quality Assurance 14:02"."""
    if item.evidence_at is None:
        return ""
    return (
        f"new {escape(truncate(item.module, 60))} published in {escape(item.environment)} "
        f"{item.evidence_at:%H:%M}"
    )


def done_item(item: ChecklistLine, watched: bool = False) -> str:
    """``watched``: the application deploys with LifeTime, whose watch may show evidence."""
    module = escape(truncate(item.module, 60))
    by = f" by {mention(item.done_by)}" if item.done_by else ""
    if item.status is ItemStatus.MERGED:
        if not watched:
            return f"{module} merged{by}"
        seen = evidence(item)
        return (
            f"{module} merged{by} · {seen}"
            if seen
            else f"{module} merged{by}, no LifeTime evidence"
        )
    reason = f": {rich(truncate(item.reason, 120))}" if item.reason else ""
    return f"{module} skipped{by}{reason}"


def checklist_blocks(hotfix: HotfixSnapshot, environment: str, interactive: bool) -> list[Block]:
    """The active environment's checklist: done rows as text, pending rows with buttons."""
    items = hotfix.checklist_of(environment)
    done = [item for item in items if item.status.is_done]
    pending = hotfix.pending_modules(environment)
    blocks: list[Block] = [
        section(
            f"*{escape(environment)} checklist* · {len(done)} of {len(items)} done · "
            "merge each module, or skip it with a reason"
        )
    ]
    if done:
        rows = [
            f"{'🔀' if item.status is ItemStatus.MERGED else '⏭️'} "
            f"{done_item(item, hotfix.deployer == 'lifetime')}"
            for item in done
        ]
        text = "\n".join(rows) if len(rows) <= 5 else join_limited(rows, 700, separator=" · ")
        blocks.append(context(text))
    alias = _alias(hotfix, environment)
    if not interactive:
        if pending:
            names = join_limited([f"`{escape(m)}`" for m in pending], 2500)
            blocks.append(section(f"⏳ pending: {names}"))
        return blocks
    shown = pending[:MAX_MODULE_BUTTONS]
    seen = {item.module: evidence(item) for item in items if item.evidence_at is not None}
    for index, module in enumerate(shown):
        value = ids.ButtonValue(hotfix.ref, environment, module).encode()
        note = f" · 👀 {seen[module]} (confirm with Merged)" if module in seen else ""
        blocks.append(section(f"⏳ *{escape(truncate(module, 150))}* · pending{note}"))
        blocks.append(
            ActionsBlock(
                elements=[
                    button("Merged", f"{ids.MERGED}:{index}", value, style="primary"),
                    button("Skip…", f"{ids.SKIP}:{index}", value),
                ]
            )
        )
    rest = pending[len(shown) :]
    if rest:
        names = join_limited([escape(m) for m in rest], 800)
        blocks.append(
            context(
                f"…and {len(rest)} more: {names}. Use "
                f"`/hotfix merged {hotfix.ref} {alias} &lt;module&gt;` or "
                f"`/hotfix skip {hotfix.ref} {alias} &lt;module&gt; &lt;reason&gt;`"
            )
        )
    return blocks


def _alias(hotfix: HotfixSnapshot, environment: str) -> str:
    for line in hotfix.pipeline:
        if line.name == environment and line.alias:
            return escape(line.alias)
    return escape(f'"{environment}"' if " " in environment else environment)


def state_actions(hotfix: HotfixSnapshot) -> ActionsBlock | None:
    """The buttons of the current state (checklist buttons are built with the checklist)."""
    ref = hotfix.ref
    state = hotfix.state
    if state is HotfixState.OPEN:
        version = hotfix.suggested_version or ""
        approval = (
            "An approver other than you will be asked to approve it."
            if hotfix.require_approval
            else "This deploys it to Production now."
        )
        return ActionsBlock(
            elements=[
                button(
                    f"Tag & Deploy {version}".strip(),
                    ids.DEPLOY,
                    ids.ButtonValue(ref, extra=version).encode(),
                    style="primary",
                    confirmation=confirm(
                        f"Tag & Deploy {version}?",
                        f"Deploy {escape(version)} to Production? {approval}",
                        "Tag & Deploy",
                    ),
                ),
                button("Another version…", ids.DEPLOY_OTHER_VERSION, ids.ButtonValue(ref).encode()),
                button("Cancel…", ids.CANCEL, ids.ButtonValue(ref).encode(), style="danger"),
            ]
        )
    if state is HotfixState.AWAITING_APPROVAL:
        version = hotfix.requested_version or ""
        return ActionsBlock(
            elements=[
                button(
                    "Approve",
                    ids.APPROVE,
                    ids.ButtonValue(ref, extra=version).encode(),
                    style="primary",
                    confirmation=confirm(
                        f"Approve Tag & Deploy {version}?",
                        f"This tags *{escape(version)}* and deploys it to Production.",
                        "Approve",
                    ),
                ),
                button("Reject…", ids.REJECT, ids.ButtonValue(ref).encode(), style="danger"),
            ]
        )
    if state is HotfixState.DEPLOYING and hotfix.deployment is not None:
        value = ids.ButtonValue(ref).encode()
        abort = button(
            "Abort",
            ids.ABORT_DEPLOYMENT,
            value,
            style="danger",
            confirmation=confirm(
                f"Abort the deployment of {hotfix.deployment.version}?",
                "The hotfix goes back to open and stays red.",
                "Abort",
            ),
        )
        if hotfix.deployment.needs_intervention:
            return ActionsBlock(
                elements=[
                    button("Continue", ids.CONTINUE_DEPLOYMENT, value, style="primary"),
                    abort,
                ]
            )
        mark_failed = button("Mark deploy failed…", ids.MARK_DEPLOY_FAILED, value)
        if hotfix.deployment.stuck:
            return ActionsBlock(
                elements=[button("Retry", ids.RETRY_DEPLOYMENT, value), abort, mark_failed]
            )
        if hotfix.deployment.unrecognised:
            return ActionsBlock(elements=[abort, mark_failed])
        return ActionsBlock(elements=[abort])  # every deploying state has a way to an end
    if hotfix.ready_to_solve:
        return ActionsBlock(
            elements=[
                button(
                    "Mark Hotfix as Solved",
                    ids.SOLVE,
                    ids.ButtonValue(ref).encode(),
                    style="primary",
                    confirmation=confirm(
                        f"Mark {ref} as solved?",
                        "Every environment has the fix; this clears the red.",
                        "Mark as Solved",
                    ),
                )
            ]
        )
    return None


def thread_line(hotfix: HotfixSnapshot, event: EventLine) -> str:
    """One mrkdwn line for the thread under the living message."""
    propagating = hotfix.state is HotfixState.PROPAGATING
    return thread_line_after(
        event, hotfix.active_environment if propagating else None, hotfix.ready_to_solve
    )


def thread_line_after(event: EventLine, next_environment: str | None, ready_to_solve: bool) -> str:
    """The thread line of an event, with what came next right after it (the outbox keeps
    both, so a line sent late still says what was next then)."""
    line = event_line(event)
    if event.kind in ("approved", "deployed", "merged", "skipped"):
        if next_environment:
            line += f" · next: merge into {escape(next_environment)}"
        elif ready_to_solve:
            line += " · every environment has the fix: Mark Hotfix as Solved"
    return truncate(line, 3000)


# Details people typed themselves: their mentions and links stay live (see `rich`).
_TYPED = ("summary", "reason")


def escaped_event(event: EventLine) -> EventLine:
    """The event with its free texts (reasons, summaries, names) escaped for mrkdwn."""
    return replace(
        event, details={k: _escape_value(v, k in _TYPED) for k, v in event.details.items()}
    )


def _escape_value(value: Any, typed: bool = False) -> Any:
    if isinstance(value, str):
        return rich(value) if typed else escape(value)
    if isinstance(value, list):
        return [_escape_value(v, typed) for v in value]
    return value


def event_text(event: EventLine) -> str:
    """An event in words for mrkdwn, mentions rendered and free texts escaped."""
    return describe_event(escaped_event(event), mention)


def event_line(event: EventLine) -> str:
    """An event in words with its emoji, mentions rendered and free texts escaped."""
    return f"{_EVENT_EMOJI.get(event.kind, '•')} {event_text(event)}"


def red_summary(hotfix: HotfixSnapshot, now: datetime) -> str:
    """Two lines for lists: what is red, since when, and the step it waits on."""
    return (
        f"{state_emoji(hotfix)} *{hotfix.ref}* · {escape(hotfix.application)} · "
        f"{rich(truncate(hotfix.summary, 150))}\n"
        f"severity *{hotfix.severity.value}* · red for {ago(now, hotfix.opened_at)} · "
        f"*next:* {escape(next_step(hotfix))}"
    )
