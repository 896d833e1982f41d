"""Modals: open a hotfix, Tag & Deploy another version, and a reason (reject, skip, cancel)."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot import ids
from bot.ids import ModalContext
from bot.views.kit import context as context_block
from bot.views.kit import plain, section
from bot.views.text import OPTION_TEXT_LIMIT, escape, join_limited, truncate
from commands.refs import Severity
from commands.results import ApplicationSnapshot, HotfixSnapshot

MAX_OPTIONS = 100
MAX_SUMMARY = 300
MAX_REASON = 500
TITLE_LIMIT = 24
HINT_LIMIT = 2000
DEFAULT_SEVERITY = Severity.HIGH

_SUBMIT = {
    "cancel": "Cancel hotfix",
    "reject": "Reject",
    "skip": "Skip module",
    "deploy_failed": "Mark failed",
    "not_a_hotfix": "Not a hotfix",
}


def _option(label: str, value: str) -> Option:
    return Option(text=plain(label, OPTION_TEXT_LIMIT), value=value)


def _modal(
    callback_id: str, title: str, blocks: list[Block], context: ModalContext, *, submit: str | None
) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, TITLE_LIMIT),
        submit=plain(submit, TITLE_LIMIT) if submit else None,
        close=plain("Back" if context.purpose == "cancel" else "Cancel", TITLE_LIMIT),
        private_metadata=context.encode(),
        blocks=blocks,
    )


def open_modal(
    applications: list[ApplicationSnapshot],
    context: ModalContext,
    *,
    application: str | None = None,
    modules: str | None = None,
) -> View:
    """The form behind `/hotfix open` without arguments; ``application`` and ``modules`` fill
    it in (the LifeTime watch's *Open hotfix* knows which modules changed)."""
    title = "Open a hotfix"
    if not applications:
        blocks: list[Block] = [
            section("There is no application yet: an admin adds one with `/hotfix app add`.")
        ]
        return _modal(ids.OPEN_MODAL, title, blocks, context, submit=None)
    block_id, action_id = ids.APPLICATION_INPUT
    choices = applications[:MAX_OPTIONS]
    options = [
        _option(
            f"{app.name} (unsolved {app.active_hotfix})" if app.active_hotfix else app.name,
            app.name,
        )
        for app in choices
    ]
    hint_parts = [f"{app.name}: {', '.join(app.modules)}" for app in choices[:5]]
    modules_hint = truncate(
        "Comma separated. " + join_limited(hint_parts, HINT_LIMIT - 40, separator="; "), HINT_LIMIT
    )
    severities = [_option(s.value, s.value) for s in Severity]
    initial = next(o for o in severities if o.value == DEFAULT_SEVERITY.value)
    blocks = [
        InputBlock(
            block_id=block_id,
            label=plain("Application"),
            element=StaticSelectElement(
                action_id=action_id,
                placeholder=plain("Choose an application"),
                options=options,
                initial_option=next((o for o in options if o.value == application), None),
            ),
        ),
        InputBlock(
            block_id=ids.MODULES_INPUT[0],
            label=plain("Modules with the defect"),
            element=PlainTextInputElement(
                action_id=ids.MODULES_INPUT[1],
                placeholder=plain("Checkout, Payments"),
                initial_value=modules or None,
            ),
            hint=plain(modules_hint, HINT_LIMIT),
        ),
        InputBlock(
            block_id=ids.SUMMARY_INPUT[0],
            label=plain("What is broken"),
            element=PlainTextInputElement(
                action_id=ids.SUMMARY_INPUT[1],
                placeholder=plain("Payment fails for saved cards"),
                max_length=MAX_SUMMARY,
            ),
        ),
        InputBlock(
            block_id=ids.SEVERITY_INPUT[0],
            label=plain("Severity"),
            element=StaticSelectElement(
                action_id=ids.SEVERITY_INPUT[1], options=severities, initial_option=initial
            ),
        ),
        InputBlock(
            block_id=ids.OWNERS_INPUT[0],
            label=plain("Owners"),
            optional=True,
            element=UserMultiSelectElement(
                action_id=ids.OWNERS_INPUT[1], placeholder=plain("The application's owners")
            ),
            hint=plain("Leave empty for the application's owners."),
        ),
    ]
    if len(applications) > MAX_OPTIONS:
        blocks.append(
            context_block(
                f"{len(applications) - MAX_OPTIONS} more applications are not listed: "
                "use `/hotfix open <app> <module> <summary>`."
            )
        )
    return _modal(ids.OPEN_MODAL, title, blocks, context, submit="Open")


def version_modal(hotfix: HotfixSnapshot, context: ModalContext) -> View:
    """Tag & Deploy with a version other than the suggested one."""
    production = next((line for line in hotfix.pipeline if line.is_production), None)
    above = f"above Production's {production.tag}" if production else "above Production's"
    approval = (
        "An approver other than you will be asked to approve it."
        if hotfix.require_approval
        else "It is deployed to Production at once."
    )
    blocks: list[Block] = [
        section(
            f"Tag & Deploy *{hotfix.ref}* ({escape(hotfix.application)}) to Production "
            f"with a version of your choice. {approval}"
        ),
        InputBlock(
            block_id=ids.VERSION_INPUT[0],
            label=plain("Version"),
            element=PlainTextInputElement(
                action_id=ids.VERSION_INPUT[1],
                initial_value=hotfix.suggested_version or None,
                placeholder=plain(hotfix.suggested_version or "1.7.1"),
                max_length=40,
            ),
            hint=plain(f"{above}, and never used by {hotfix.application} before"),
        ),
    ]
    return _modal(ids.VERSION_MODAL, "Another version", blocks, context, submit="Tag & Deploy")


def reason_modal(
    context: ModalContext, title: str, prompt: str, *, subject: str | None = None
) -> View:
    """Asks why (reject, skip, cancel, not a hotfix); the answer is required. ``subject``
    replaces the line saying what it is about (made from the context otherwise)."""
    about = [f"*{escape(context.hotfix)}*"] if context.hotfix else []
    if context.module:
        about.append(f"module *{escape(context.module)}*")
    if context.environment:
        about.append(f"in *{escape(context.environment)}*")
    if subject is not None:
        about = [escape(subject)]
    blocks: list[Block] = [context_block(" · ".join(about))] if about else []
    blocks.append(
        InputBlock(
            block_id=ids.REASON_INPUT[0],
            label=plain(prompt, HINT_LIMIT),
            element=PlainTextInputElement(
                action_id=ids.REASON_INPUT[1], multiline=True, max_length=MAX_REASON
            ),
        )
    )
    submit = _SUBMIT.get(context.purpose, "Submit")
    return _modal(ids.REASON_MODAL, title, blocks, context, submit=submit)
