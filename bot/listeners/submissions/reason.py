from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.listeners.submissions.form import Submission, apply_or_show_error
from bot.services import BotServices
from commands import deployments, hotfixes
from commands.results import Outcome


def handler(services: BotServices) -> Callable[..., None]:
    """A reason for Reject…, Skip… or Cancel…; the modal's purpose says which."""

    def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any], *_: Any) -> None:
        form = Submission.of(body, view)
        apply_or_show_error(ack, services, ids.REASON_INPUT[0], lambda: _apply(services, form))

    return handle


def _apply(services: BotServices, form: Submission) -> Outcome:
    actor = services.actor(form.user)
    context = form.context
    reason = form.text(ids.REASON_INPUT)
    key = form.request_key
    if context.purpose == "deploy_failed":
        return deployments.mark_deploy_failed(
            services.ctx, actor, context.hotfix, reason, request_key=key
        )
    if context.purpose == "reject":
        return hotfixes.reject_deploy(services.ctx, actor, context.hotfix, reason, request_key=key)
    if context.purpose == "skip":
        return hotfixes.mark_skipped(
            services.ctx,
            actor,
            context.hotfix,
            context.environment,
            context.module,
            reason,
            request_key=key,
        )
    return hotfixes.cancel(services.ctx, actor, context.hotfix, reason, request_key=key)
