"""Action ids, callback ids and button values: the contract between views and listeners."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Buttons on the living message. Module buttons get a numeric suffix (`hotfix_merged:3`)
# because action ids must be unique within a message; listeners match the prefix. Values are
# compact JSON (ButtonValue), shown below by their fields.
DEPLOY = "hotfix_deploy"  # value: hotfix HF-12, extra 1.7.1
DEPLOY_OTHER_VERSION = "hotfix_deploy_other"  # value: HF-12 -> opens VERSION_MODAL
CANCEL = "hotfix_cancel"  # value: HF-12 -> opens REASON_MODAL (cancel)
APPROVE = "hotfix_approve"  # value: HF-12
REJECT = "hotfix_reject"  # value: HF-12 -> opens REASON_MODAL (reject)
MERGED = "hotfix_merged"  # value: hotfix, environment, module
SKIP = "hotfix_skip"  # value: hotfix, environment, module -> opens REASON_MODAL (skip)
SOLVE = "hotfix_solve"  # value: HF-12
SNOOZE = "hotfix_snooze"  # value: hotfix, extra 1h (reminders)
CONTINUE_DEPLOYMENT = "hotfix_deploy_continue"  # value: HF-12
ABORT_DEPLOYMENT = "hotfix_deploy_abort"  # value: HF-12
RETRY_DEPLOYMENT = "hotfix_deploy_retry"  # value: HF-12
MARK_DEPLOY_FAILED = "hotfix_deploy_mark_failed"  # value: HF-12 -> opens REASON_MODAL

# The LifeTime watch's message about untagged changes in the hotfix environment.
OPEN_FROM_CHANGE = "lifetime_change_open"  # value: extra <suggestion id> -> opens OPEN_MODAL
NOT_A_HOTFIX = "lifetime_change_dismiss"  # value: extra <suggestion id> -> opens REASON_MODAL

MERGED_PATTERN = re.compile(rf"^{MERGED}(:\d+)?$")
SKIP_PATTERN = re.compile(rf"^{SKIP}(:\d+)?$")
SNOOZE_PATTERN = re.compile(rf"^{SNOOZE}(:\w+)?$")

# Modals (callback ids). private_metadata carries what the modal is about (see ModalContext).
OPEN_MODAL = "hotfix_open_modal"
VERSION_MODAL = "hotfix_version_modal"
REASON_MODAL = "hotfix_reason_modal"

# Block and action ids of modal inputs, read back from view.state.values.
APPLICATION_INPUT = ("application", "application_value")
MODULES_INPUT = ("modules", "modules_value")
SUMMARY_INPUT = ("summary", "summary_value")
SEVERITY_INPUT = ("severity", "severity_value")
OWNERS_INPUT = ("owners", "owners_value")
VERSION_INPUT = ("version", "version_value")
REASON_INPUT = ("reason", "reason_value")


# Slack's limits: a button's `value` holds at most 2,000 characters
# (https://docs.slack.dev/reference/block-kit/block-elements/button-element), a view's
# `private_metadata` at most 3,000 (https://docs.slack.dev/reference/views/modal-views).
BUTTON_VALUE_LIMIT = 2000
PRIVATE_METADATA_LIMIT = 3000


class ValueTooLong(ValueError):
    """What a button or a modal must carry does not fit in Slack's limit."""


def _compact(fields: dict[str, str], limit: int) -> str:
    """Compact JSON of the non-empty fields, so that names may hold any character."""
    data = {key: value for key, value in fields.items() if value}
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(encoded) > limit:
        raise ValueTooLong(
            f"{len(encoded)} characters, Slack takes at most {limit}: {encoded[:80]}"
        )
    return encoded


def _fields(value: str, keys: tuple[str, ...]) -> dict[str, str]:
    """Read a value written by `_compact`; the older `a|b|c` form of messages posted before
    it is still read, since living messages outlive a release."""
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {key: str(data.get(key) or "") for key in keys}
    parts = [*value.split("|"), *([""] * len(keys))][: len(keys)]
    return dict(zip(keys, parts, strict=True))


@dataclass(frozen=True)
class ButtonValue:
    hotfix: str
    environment: str = ""
    module: str = ""
    extra: str = ""

    _KEYS = ("hotfix", "environment", "module", "extra")

    def encode(self) -> str:
        """`{"hotfix":"HF-12","environment":"Quality Assurance","module":"Checkout"}`"""
        return _compact({key: getattr(self, key) for key in self._KEYS}, BUTTON_VALUE_LIMIT)

    @classmethod
    def decode(cls, value: str) -> ButtonValue:
        return cls(**_fields(value, cls._KEYS))


OPEN_SUGGESTED = "open_suggested"  # the open form behind a LifeTime watch message's button


@dataclass(frozen=True)
class ModalContext:
    """What a modal acts on, kept in its private_metadata."""

    # "open", "open_suggested" (from a LifeTime watch message), "deploy", "reject", "skip", ...
    purpose: str
    hotfix: str = ""
    environment: str = ""
    module: str = ""
    channel: str = ""  # where to answer ephemerally
    message_ts: str = ""

    _KEYS = ("purpose", "hotfix", "environment", "module", "channel", "message_ts")

    def encode(self) -> str:
        return _compact({key: getattr(self, key) for key in self._KEYS}, PRIVATE_METADATA_LIMIT)

    @classmethod
    def decode(cls, value: str) -> ModalContext:
        return cls(**_fields(value, cls._KEYS))
