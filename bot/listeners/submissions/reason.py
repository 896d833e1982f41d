from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.listeners.submissions.form import Submission, apply_or_show_error
from bot.services import BotServices
from commands import deployments, hotfixes, lifetime_watch
from commands.errors import AlreadyApplied, DomainError
from commands.results import Outcome


def handler(services: BotServices) -> Callable[..., None]:
    """A reason for Reject…, Skip… or Cancel…; the modal's purpose says which."""

    def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any], *_: Any) -> None:
        form = Submission.of(body, view)
        if form.context.purpose == "not_a_hotfix":
            _not_a_hotfix(ack, services, form)
            return
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


def _not_a_hotfix(ack: Ack, services: BotServices, form: Submission) -> None:
    """Dismiss the LifeTime watch's message: recorded with the reason, said in its thread."""
    reason = form.text(ids.REASON_INPUT)
    try:
        lifetime_watch.dismiss(
            services.ctx,
            services.actor(form.user),
            int(form.context.module or 0),
            reason,
            request_key=form.request_key,
        )
    except AlreadyApplied:
        ack()  # a Slack retry or a double submit: the first one already said it
        return
    except DomainError as error:
        ack(response_action="errors", errors={ids.REASON_INPUT[0]: error.message[:2000]})
        return
    ack()
    services.deliverer.deliver_unattached()  # the thread line, recorded with the dismissal
