"""Action ids, callback ids and button values: the contract between views and listeners."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Buttons on the living message. Module buttons get a numeric suffix (`hotfix_merged:3`)
# because action ids must be unique within a message; listeners match the prefix.
DEPLOY = "hotfix_deploy"  # value: HF-12|1.7.1
DEPLOY_OTHER_VERSION = "hotfix_deploy_other"  # value: HF-12 -> opens VERSION_MODAL
CANCEL = "hotfix_cancel"  # value: HF-12 -> opens REASON_MODAL (cancel)
APPROVE = "hotfix_approve"  # value: HF-12
REJECT = "hotfix_reject"  # value: HF-12 -> opens REASON_MODAL (reject)
MERGED = "hotfix_merged"  # value: HF-12|qa|Checkout
SKIP = "hotfix_skip"  # value: HF-12|qa|Checkout -> opens REASON_MODAL (skip)
SOLVE = "hotfix_solve"  # value: HF-12
SNOOZE = "hotfix_snooze"  # value: HF-12|||1h  (reminders)
CONTINUE_DEPLOYMENT = "hotfix_deploy_continue"  # value: HF-12
ABORT_DEPLOYMENT = "hotfix_deploy_abort"  # value: HF-12
RETRY_DEPLOYMENT = "hotfix_deploy_retry"  # value: HF-12
MARK_DEPLOY_FAILED = "hotfix_deploy_mark_failed"  # value: HF-12 -> opens REASON_MODAL

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


@dataclass(frozen=True)
class ButtonValue:
    hotfix: str
    environment: str = ""
    module: str = ""
    extra: str = ""

    def encode(self) -> str:
        return "|".join((self.hotfix, self.environment, self.module, self.extra)).rstrip("|")

    @classmethod
    def decode(cls, value: str) -> ButtonValue:
        parts = ([*value.split("|"), "", "", "", ""])[:4]
        return cls(*parts)


@dataclass(frozen=True)
class ModalContext:
    """What a modal acts on, kept in its private_metadata."""

    purpose: str  # "open", "deploy", "reject", "skip", "cancel"
    hotfix: str = ""
    environment: str = ""
    module: str = ""
    channel: str = ""  # where to answer ephemerally
    message_ts: str = ""

    def encode(self) -> str:
        return "|".join(
            (
                self.purpose,
                self.hotfix,
                self.environment,
                self.module,
                self.channel,
                self.message_ts,
            )
        )

    @classmethod
    def decode(cls, value: str) -> ModalContext:
        parts = (value.split("|") + [""] * 6)[:6]
        return cls(*parts)
