from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot import ids
from bot.listeners.submissions.form import Submission, apply_or_show_error
from bot.services import BotServices
from commands import hotfixes
from commands.errors import DomainError, PermissionDenied


def _field_of(error: DomainError) -> str:
    """A refusal about the application (none such, already red, out of sync, not yours to
    open) shows on the application's field; the rest is about the modules typed."""
    if error.about == "application" or isinstance(error, PermissionDenied):
        return ids.APPLICATION_INPUT[0]
    return ids.MODULES_INPUT[0]


def handler(services: BotServices) -> Callable[..., None]:
    """The Open a hotfix modal (from `/hotfix open` with no arguments)."""

    def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any], *_: Any) -> None:
        form = Submission.of(body, view)
        modules = [m for m in form.text(ids.MODULES_INPUT).split(",") if m.strip()]
        apply_or_show_error(
            ack,
            services,
            _field_of,
            lambda: hotfixes.open_hotfix(
                services.ctx,
                services.actor(form.user),
                form.option(ids.APPLICATION_INPUT),
                modules,
                form.text(ids.SUMMARY_INPUT),
                severity=form.option(ids.SEVERITY_INPUT) or "high",
                owners=form.users(ids.OWNERS_INPUT),
                untagged_changes_are_the_fix=form.context.purpose == ids.OPEN_SUGGESTED,
                request_key=form.request_key,
                origin_channel=form.context.channel or None,
            ),
        )

    return handle
