from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.lifecycle import (
    ALLOWED,
    ChecklistEntry,
    HotfixState,
    ItemStatus,
    Operation,
    active_environment,
    blocking_environment,
    checklist_complete,
    checklist_plan,
    is_allowed,
    refusal,
)

EXPECTED_ALLOWED = {
    (Operation.REQUEST_DEPLOY, HotfixState.OPEN),
    (Operation.APPROVE, HotfixState.AWAITING_APPROVAL),
    (Operation.REJECT, HotfixState.AWAITING_APPROVAL),
    (Operation.MARK, HotfixState.PROPAGATING),
    (Operation.SOLVE, HotfixState.PROPAGATING),
    (Operation.CANCEL, HotfixState.OPEN),
    (Operation.CANCEL, HotfixState.AWAITING_APPROVAL),
    (Operation.STEER_DEPLOYMENT, HotfixState.DEPLOYING),
}


@pytest.mark.parametrize(("operation", "state"), list(itertools.product(Operation, HotfixState)))
def test_every_operation_in_every_state(operation: Operation, state: HotfixState) -> None:
    assert is_allowed(operation, state) == ((operation, state) in EXPECTED_ALLOWED)
    if not is_allowed(operation, state):
        message = refusal(operation, state, "HF-7", "1.7.1")
        assert message.startswith("HF-7")
        assert message.endswith(".")


def test_table_covers_every_operation() -> None:
    assert set(ALLOWED) == set(Operation)


def test_refusals_say_what_happened() -> None:
    assert "already deployed as 1.7.1" in refusal(
        Operation.REQUEST_DEPLOY, HotfixState.PROPAGATING, "HF-1", "1.7.1"
    )
    assert "cannot be cancelled" in refusal(
        Operation.CANCEL, HotfixState.PROPAGATING, "HF-1", "1.7.1"
    )
    assert "already solved" in refusal(Operation.SOLVE, HotfixState.SOLVED, "HF-1", "1.7.1")
    assert "being deployed as 1.7.1 right now" in refusal(
        Operation.CANCEL, HotfixState.DEPLOYING, "HF-1", "1.7.1"
    )


def test_red_until_solved_or_cancelled() -> None:
    assert {s for s in HotfixState if s.is_red} == {
        HotfixState.OPEN,
        HotfixState.AWAITING_APPROVAL,
        HotfixState.DEPLOYING,
        HotfixState.PROPAGATING,
    }


ORDER = ["Quality Assurance", "Development"]
MODULES = ["Checkout", "Payments"]


def test_plan_is_one_item_per_environment_and_module_in_order() -> None:
    assert checklist_plan(ORDER, MODULES) == [
        ("Quality Assurance", "Checkout"),
        ("Quality Assurance", "Payments"),
        ("Development", "Checkout"),
        ("Development", "Payments"),
    ]


statuses = st.sampled_from(list(ItemStatus))


@given(st.lists(statuses, min_size=4, max_size=4))
def test_checklist_rules_agree(status_list: list[ItemStatus]) -> None:
    entries = [
        ChecklistEntry(env, module, status)
        for (env, module), status in zip(checklist_plan(ORDER, MODULES), status_list, strict=True)
    ]
    active = active_environment(entries, ORDER)
    assert (active is None) == checklist_complete(entries)
    qa_done = all(e.status.is_done for e in entries[:2])
    # Development can be worked on only once Quality Assurance is complete.
    assert (blocking_environment(entries, ORDER, "Development") is None) == qa_done
    assert blocking_environment(entries, ORDER, "Quality Assurance") is None
    if active is not None:
        assert blocking_environment(entries, ORDER, active) is None
        assert any(e.environment == active and not e.status.is_done for e in entries)
