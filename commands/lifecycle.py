"""Hotfix states, which operation each state allows, and the propagation checklist rules.

Plain functions over plain values so they can be tested exhaustively.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

E = TypeVar("E")
M = TypeVar("M")


class HotfixState(enum.StrEnum):
    OPEN = "open"  # the fix is being made in the hotfix environment
    AWAITING_APPROVAL = "awaiting_approval"  # Tag & Deploy requested, waits for an approver
    DEPLOYING = "deploying"  # a deployment system (LifeTime, a CI pipeline) is deploying it
    PROPAGATING = "propagating"  # deployed to Production, merging backward
    SOLVED = "solved"
    CANCELLED = "cancelled"

    @property
    def is_red(self) -> bool:
        return self not in (HotfixState.SOLVED, HotfixState.CANCELLED)


class Operation(enum.StrEnum):
    REQUEST_DEPLOY = "request_deploy"
    APPROVE = "approve"
    REJECT = "reject"
    MARK = "mark"  # merged or skipped
    SOLVE = "solve"
    CANCEL = "cancel"
    STEER_DEPLOYMENT = "steer_deployment"  # continue, abort or retry a running deployment


ALLOWED: dict[Operation, frozenset[HotfixState]] = {
    Operation.REQUEST_DEPLOY: frozenset({HotfixState.OPEN}),
    Operation.APPROVE: frozenset({HotfixState.AWAITING_APPROVAL}),
    Operation.REJECT: frozenset({HotfixState.AWAITING_APPROVAL}),
    Operation.MARK: frozenset({HotfixState.PROPAGATING}),
    Operation.SOLVE: frozenset({HotfixState.PROPAGATING}),
    Operation.CANCEL: frozenset({HotfixState.OPEN, HotfixState.AWAITING_APPROVAL}),
    Operation.STEER_DEPLOYMENT: frozenset({HotfixState.DEPLOYING}),
}


def is_allowed(operation: Operation, state: HotfixState) -> bool:
    return state in ALLOWED[operation]


def refusal(operation: Operation, state: HotfixState, hotfix_ref: str, tag: str | None) -> str:
    """Why `operation` cannot run in `state`, said so a person knows what to do instead."""
    if state is HotfixState.SOLVED:
        return f"{hotfix_ref} is already solved: nothing more to do."
    if state is HotfixState.CANCELLED:
        return f"{hotfix_ref} was cancelled: open a new hotfix if the defect is still there."
    if state is HotfixState.DEPLOYING and operation is not Operation.STEER_DEPLOYMENT:
        return (
            f"{hotfix_ref} is being deployed as {tag} right now: wait for the deployment to "
            "finish, or abort it."
        )
    if operation is Operation.STEER_DEPLOYMENT:
        return f"{hotfix_ref} has no deployment running."
    if operation is Operation.REQUEST_DEPLOY:
        if state is HotfixState.AWAITING_APPROVAL:
            return f"{hotfix_ref} already waits for approval of its Tag & Deploy."
        return f"{hotfix_ref} was already deployed as {tag}: it cannot be deployed twice."
    if operation in (Operation.APPROVE, Operation.REJECT):
        if state is HotfixState.OPEN:
            return f"{hotfix_ref} has no Tag & Deploy waiting for approval."
        return f"{hotfix_ref} was already deployed as {tag}."
    if operation in (Operation.MARK, Operation.SOLVE):
        return (
            f"{hotfix_ref} is not deployed to Production yet: Tag & Deploy it first, "
            "then propagate the fix backward."
        )
    if operation is Operation.CANCEL:
        return (
            f"{hotfix_ref} was already deployed as {tag}: a deployed hotfix cannot be cancelled; "
            "propagate it and mark it as solved."
        )
    return f"{hotfix_ref} does not allow {operation.value} now."


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    MERGED = "merged"
    SKIPPED = "skipped"

    @property
    def is_done(self) -> bool:
        return self is not ItemStatus.PENDING


@dataclass(frozen=True)
class ChecklistEntry:
    environment: str
    module: str
    status: ItemStatus


def checklist_plan(propagation_order: Sequence[E], modules: Sequence[M]) -> list[tuple[E, M]]:
    """One (environment, module) item per environment before the hotfix environment."""
    return [(environment, module) for environment in propagation_order for module in modules]


def environment_complete(entries: Iterable[ChecklistEntry], environment: str) -> bool:
    return all(e.status.is_done for e in entries if e.environment == environment)


def active_environment(
    entries: Sequence[ChecklistEntry], propagation_order: Sequence[str]
) -> str | None:
    """The environment being merged into now: the closest to Production with work left."""
    for environment in propagation_order:
        if not environment_complete(entries, environment):
            return environment
    return None


def blocking_environment(
    entries: Sequence[ChecklistEntry], propagation_order: Sequence[str], environment: str
) -> str | None:
    """An environment closer to Production that must be complete before `environment`."""
    for earlier in propagation_order:
        if earlier == environment:
            return None
        if not environment_complete(entries, earlier):
            return earlier
    return None


def checklist_complete(entries: Iterable[ChecklistEntry]) -> bool:
    return all(e.status.is_done for e in entries)
