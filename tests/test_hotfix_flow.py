"""The seeds' flow through the service layer, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import (
    AlreadyApplied,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
)
from commands.lifecycle import HotfixState, ItemStatus
from commands.results import HotfixSnapshot
from tests.conftest import ADMIN
from tests.support import MovableClock, dump

ANA, RAJ, LEE, KIM = Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE"), Actor("U0KIM")
STRANGER = Actor("U0NOBODY")


def versions(hotfix: HotfixSnapshot) -> dict[str, str]:
    return {line.name: line.shown_version for line in hotfix.pipeline}


def red(hotfix: HotfixSnapshot) -> set[str]:
    return {line.name for line in hotfix.pipeline if line.red}


def open_checkout(ctx: ServiceContext) -> HotfixSnapshot:
    return hotfixes.open_hotfix(
        ctx, ANA, "eCommerce", ["Checkout"], "Payment fails for saved cards", severity="critical"
    ).hotfix


def deployed(ctx: ServiceContext) -> HotfixSnapshot:
    hotfix = open_checkout(ctx)
    hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    return hotfixes.approve_deploy(ctx, LEE, hotfix.ref).hotfix


def refused_without_change(
    ctx: ServiceContext, error: type[DomainError], match: str, action: Callable[[], object]
) -> DomainError:
    before = dump(ctx.db.engine)
    with pytest.raises(error, match=match) as raised:
        action()
    assert dump(ctx.db.engine) == before
    return raised.value


def test_the_seed_scenario_from_open_to_solved(ctx: ServiceContext, clock: MovableClock) -> None:
    hotfix = open_checkout(ctx)
    assert hotfix.ref == "HF-1"
    assert hotfix.state is HotfixState.OPEN
    assert versions(hotfix) == {
        "Production": "1.7.0",
        "Pre-Production": "1.7.0+",
        "Quality Assurance": "1.7.0",
        "Development": "1.8.0+",
    }
    assert red(hotfix) == {"Pre-Production"}
    assert hotfix.suggested_version == "1.7.1"
    assert hotfix.owners == ("U0ANA", "U0RAJ")
    assert [(c.environment, c.module, c.status) for c in hotfix.checklist] == [
        ("Quality Assurance", "Checkout", ItemStatus.PENDING),
        ("Development", "Checkout", ItemStatus.PENDING),
    ]

    clock.advance(minutes=40)
    requested = hotfixes.request_deploy(ctx, ANA, "hf-1").hotfix
    assert requested.state is HotfixState.AWAITING_APPROVAL
    assert requested.requested_version == "1.7.1"
    assert versions(requested)["Production"] == "1.7.0"

    approved = hotfixes.approve_deploy(ctx, LEE, "HF-1").hotfix
    assert approved.state is HotfixState.PROPAGATING
    assert approved.deployed_version == "1.7.1"
    assert approved.approved_by == "U0LEE" and approved.deployed_by == "U0ANA"
    assert versions(approved)["Production"] == "1.7.1"
    assert versions(approved)["Pre-Production"] == "1.7.1"
    assert red(approved) == {"Pre-Production"}, "Pre-Production stays red until solved"
    assert approved.active_environment == "Quality Assurance"
    assert approved.step == "Quality Assurance: Checkout not merged"

    merged_qa = hotfixes.mark_merged(ctx, RAJ, "HF-1", "qa", "checkout").hotfix
    assert versions(merged_qa)["Quality Assurance"] == "1.7.0+"
    assert merged_qa.active_environment == "Development"
    merged_dev = hotfixes.mark_merged(ctx, RAJ, "HF-1", "Development", "Checkout").hotfix
    assert merged_dev.ready_to_solve

    clock.advance(hours=3)
    solved = hotfixes.solve(ctx, RAJ, "HF-1").hotfix
    assert solved.state is HotfixState.SOLVED
    assert red(solved) == set()
    assert solved.closed_by == "U0RAJ"
    assert queries.red_hotfixes(ctx) == []

    _, events = queries.history(ctx, "HF-1")
    assert [e.kind for e in events] == [
        "opened",
        "deploy_requested",
        "approved",
        "merged",
        "merged",
        "solved",
    ]
    assert events[-1].actor == "U0RAJ"
    assert events[1].at == events[0].at.replace(minute=40)


def test_open_is_refused_while_the_hotfix_environment_is_out_of_sync(
    ctx: ServiceContext,
) -> None:
    # Back Office: Quality Assurance and Development differ, but Pre-Production matches.
    hotfixes.open_hotfix(ctx, RAJ, "Back Office", ["Orders"], "Orders lost")
    hotfixes.cancel(ctx, RAJ, "HF-1", "wrong module")
    # Now put Pre-Production out of sync through the catalog (ahead of Production) and try again.
    spec_text = (
        "applications:\n"
        "  - name: Back Office\n"
        "    owners: [U0RAJ]\n"
        "    approvers: [U0KIM]\n"
        "    modules: [Orders, Reports]\n"
        "    versions: {prod: 2.3.4, preprod: 2.3.5, qa: 2.4.0, dev: 2.4.0+}\n"
    )
    from commands.catalog_file import parse_catalog

    applications.apply_catalog(ctx, ADMIN, parse_catalog(spec_text), set_versions=True)
    refused_without_change(
        ctx,
        Refused,
        "Pre-Production runs 2.3.5 but Production runs 2.3.4: "
        "synchronize first, or open with force",
        lambda: hotfixes.open_hotfix(ctx, RAJ, "Back Office", ["Orders"], "Orders lost"),
    )
    forced = hotfixes.open_hotfix(
        ctx, RAJ, "back office", ["orders"], "Orders lost", force=True
    ).hotfix
    assert forced.forced
    _, events = queries.history(ctx, forced.ref)
    assert "runs 2.3.5" in events[0].details["forced"]


def test_untagged_changes_in_the_hotfix_environment_refuse_open(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    hotfixes.cancel(ctx, ANA, hotfix.ref, "opened by mistake")
    # Cancelling restored Pre-Production; a new open works.
    again = open_checkout(ctx)
    assert versions(again)["Pre-Production"] == "1.7.0+"


def test_one_unsolved_hotfix_per_application(ctx: ServiceContext) -> None:
    open_checkout(ctx)
    error = refused_without_change(
        ctx,
        Refused,
        "already has an unsolved hotfix, HF-1",
        lambda: hotfixes.open_hotfix(ctx, RAJ, "ECOMMERCE", ["Payments"], "Another"),
    )
    assert "Payment fails for saved cards" in error.message


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        (("Shop", ["Checkout"], "x"), NotFound, "no application 'Shop'"),
        (("eComerce", ["Checkout"], "x"), NotFound, "Did you mean 'eCommerce'"),
        (("eCommerce", ["Chekout"], "x"), InvalidInput, "Did you mean 'Checkout'"),
        (("eCommerce", [], "x"), InvalidInput, "at least one module"),
        (("eCommerce", ["Checkout"], "   "), InvalidInput, "give a summary"),
        (("eCommerce", ["Checkout"], "x" * 301), InvalidInput, "too long"),
    ],
)
def test_open_refuses_bad_input(
    ctx: ServiceContext, arguments: tuple, error: type[DomainError], match: str
) -> None:
    refused_without_change(ctx, error, match, lambda: hotfixes.open_hotfix(ctx, ANA, *arguments))


def test_open_refuses_unknown_severity_and_strangers(ctx: ServiceContext) -> None:
    refused_without_change(
        ctx,
        InvalidInput,
        "not a severity",
        lambda: hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "x", severity="urgent"),
    )
    refused_without_change(
        ctx,
        PermissionDenied,
        "only the owners and approvers",
        lambda: hotfixes.open_hotfix(ctx, STRANGER, "eCommerce", ["Checkout"], "x"),
    )


def test_deploy_with_an_explicit_version(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    refused_without_change(
        ctx,
        InvalidInput,
        "not above Production's 1.7.0",
        lambda: hotfixes.request_deploy(ctx, ANA, hotfix.ref, "1.6.9"),
    )
    refused_without_change(
        ctx,
        InvalidInput,
        "'1.7.x' is not a version",
        lambda: hotfixes.request_deploy(ctx, ANA, hotfix.ref, "1.7.x"),
    )
    refused_without_change(  # 1.7 is 1.7.0: two numbers are a version, and not above it
        ctx,
        InvalidInput,
        "1.7 is not above Production's 1.7.0",
        lambda: hotfixes.request_deploy(ctx, ANA, hotfix.ref, "1.7"),
    )
    hotfixes.request_deploy(ctx, ANA, hotfix.ref, "1.7.5")
    result = hotfixes.approve_deploy(ctx, KIM, hotfix.ref).hotfix
    assert result.deployed_version == "1.7.5"


def test_four_eyes_and_rejection(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    refused_without_change(
        ctx,
        PermissionDenied,
        "another person must approve",
        lambda: hotfixes.approve_deploy(ctx, ANA, hotfix.ref),
    )
    refused_without_change(
        ctx,
        PermissionDenied,
        "only the application's approvers",
        lambda: hotfixes.approve_deploy(ctx, RAJ, hotfix.ref),
    )
    refused_without_change(
        ctx,
        InvalidInput,
        "give a reason",
        lambda: hotfixes.reject_deploy(ctx, LEE, hotfix.ref, " "),
    )
    rejected = hotfixes.reject_deploy(ctx, LEE, hotfix.ref, "tests are red").hotfix
    assert rejected.state is HotfixState.OPEN
    assert rejected.requested_version is None
    _, events = queries.history(ctx, hotfix.ref)
    assert events[-1].details == {"version": "1.7.1", "reason": "tests are red"}


def test_deploying_twice_is_refused_and_names_the_tag(ctx: ServiceContext) -> None:
    hotfix = deployed(ctx)
    refused_without_change(
        ctx,
        Refused,
        "already deployed as 1.7.1",
        lambda: hotfixes.request_deploy(ctx, ANA, hotfix.ref),
    )
    refused_without_change(
        ctx,
        Refused,
        "already deployed as 1.7.1",
        lambda: hotfixes.approve_deploy(ctx, KIM, hotfix.ref),
    )
    refused_without_change(
        ctx,
        Refused,
        "cannot be cancelled",
        lambda: hotfixes.cancel(ctx, ANA, hotfix.ref, "changed my mind"),
    )


def test_the_next_hotfix_never_reuses_a_tag(ctx: ServiceContext) -> None:
    first = deployed(ctx)
    for environment in ("qa", "dev"):
        hotfixes.mark_merged(ctx, RAJ, first.ref, environment, "Checkout")
    hotfixes.solve(ctx, RAJ, first.ref)
    second = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Payments"], "Refunds fail").hotfix
    assert second.base_version == "1.7.1"
    assert second.suggested_version == "1.7.2"
    refused_without_change(
        ctx,
        InvalidInput,
        "not above Production's 1.7.1",
        lambda: hotfixes.request_deploy(ctx, ANA, second.ref, "1.7.1"),
    )


def test_propagation_goes_backward_and_needs_reasons_to_skip(ctx: ServiceContext) -> None:
    hotfix = hotfixes.open_hotfix(
        ctx, ANA, "eCommerce", ["Checkout", "Payments"], "Payment fails"
    ).hotfix
    refused_without_change(
        ctx,
        Refused,
        "not deployed to Production yet",
        lambda: hotfixes.mark_merged(ctx, ANA, hotfix.ref, "qa", "Checkout"),
    )
    hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    hotfixes.approve_deploy(ctx, LEE, hotfix.ref)
    refused_without_change(
        ctx,
        Refused,
        "Quality Assurance comes first.*Checkout, Payments",
        lambda: hotfixes.mark_merged(ctx, ANA, hotfix.ref, "dev", "Checkout"),
    )
    refused_without_change(
        ctx,
        InvalidInput,
        "not an environment HF-1 propagates to",
        lambda: hotfixes.mark_merged(ctx, ANA, hotfix.ref, "prod", "Checkout"),
    )
    refused_without_change(
        ctx,
        InvalidInput,
        "has no module 'Catalog'",
        lambda: hotfixes.mark_merged(ctx, ANA, hotfix.ref, "qa", "Catalog"),
    )
    refused_without_change(
        ctx,
        InvalidInput,
        "reason for skipping",
        lambda: hotfixes.mark_skipped(ctx, ANA, hotfix.ref, "qa", "Payments", ""),
    )
    hotfixes.mark_merged(ctx, ANA, hotfix.ref, "qa", "Checkout")
    refused_without_change(
        ctx,
        Refused,
        "was already merged",
        lambda: hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout"),
    )
    skipped = hotfixes.mark_skipped(
        ctx, ANA, hotfix.ref, "qa", "Payments", "QA is rebuilt from Production tonight"
    ).hotfix
    item = next(i for i in skipped.checklist if i.module == "Payments")
    assert item.status is ItemStatus.SKIPPED
    assert item.reason == "QA is rebuilt from Production tonight"
    refused_without_change(
        ctx,
        Refused,
        "Still to merge or skip: Development: Checkout; Development: Payments",
        lambda: hotfixes.solve(ctx, ANA, hotfix.ref),
    )


def test_only_members_change_a_hotfix_but_anyone_reads(ctx: ServiceContext) -> None:
    hotfix = open_checkout(ctx)
    refused_without_change(
        ctx,
        PermissionDenied,
        "only the owners and approvers",
        lambda: hotfixes.request_deploy(ctx, STRANGER, hotfix.ref),
    )
    assert queries.hotfix_status(ctx, hotfix.ref).ref == "HF-1"
    admin = hotfixes.cancel(ctx, ADMIN, hotfix.ref, "admin override").hotfix
    assert admin.state is HotfixState.CANCELLED


def test_unknown_and_malformed_hotfix_ids(ctx: ServiceContext) -> None:
    with pytest.raises(NotFound, match="there is no hotfix HF-99"):
        hotfixes.solve(ctx, ANA, "HF-99")
    with pytest.raises(InvalidInput, match="hotfix ids look like HF-12"):
        queries.hotfix_status(ctx, "twelve")


def test_a_request_key_applies_once(ctx: ServiceContext) -> None:
    hotfix = deployed(ctx)
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout", request_key="click-1")
    refused_without_change(
        ctx,
        AlreadyApplied,
        "already applied",
        lambda: hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout", request_key="click-1"),
    )
    _, events = queries.history(ctx, hotfix.ref)
    assert [e.kind for e in events].count("merged") == 1


def test_a_refused_request_can_be_retried_with_the_same_key(ctx: ServiceContext) -> None:
    hotfix = deployed(ctx)
    with pytest.raises(Refused):
        hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "dev", "Checkout", request_key="k")
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout", request_key="k")


def test_without_approval_policy_tag_and_deploy_is_immediate(ctx: ServiceContext) -> None:
    from commands.catalog_file import parse_catalog

    applications.apply_catalog(
        ctx,
        ADMIN,
        parse_catalog(
            "applications:\n"
            "  - name: Intranet\n"
            "    require_approval: false\n"
            "    owners: [U0ANA]\n"
            "    modules: [Portal]\n"
            "    versions: {prod: 3.0.0, preprod: 3.0.0, qa: 3.0.0, dev: 3.1.0}\n"
        ),
    )
    hotfix = hotfixes.open_hotfix(ctx, ANA, "Intranet", ["Portal"], "Login loops").hotfix
    result = hotfixes.request_deploy(ctx, ANA, hotfix.ref)
    assert result.event.kind == "deployed"
    assert result.hotfix.state is HotfixState.PROPAGATING


def test_admin_operations(ctx: ServiceContext) -> None:
    snapshot = applications.add_application(ctx, ADMIN, "Mobile", ["Api", "App"], "0.3.0")
    assert {line.shown_version for line in snapshot.pipeline} == {"0.3.0"}
    refused_without_change(
        ctx,
        PermissionDenied,
        "only an admin",
        lambda: applications.add_application(ctx, ANA, "Other", ["X"], "1.0.0"),
    )
    refused_without_change(
        ctx,
        Refused,
        "already an application 'mobile'",
        lambda: applications.add_application(ctx, ADMIN, "mobile", ["X"], "1.0.0"),
    )
    refused_without_change(
        ctx,
        InvalidInput,
        "not a Slack user",
        lambda: applications.set_members(ctx, ADMIN, "Mobile", "owner", ["ana"]),
    )
    updated = applications.set_members(ctx, ADMIN, "mobile", "owner", ["U0ANA", "U0RAJ"])
    assert updated.owners == ("U0ANA", "U0RAJ")
    opened = hotfixes.open_hotfix(ctx, RAJ, "Mobile", ["Api"], "Crash on start").hotfix
    assert opened.suggested_version == "0.3.1"


def test_request_keys_are_forgotten_after_two_days(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    from commands.reminders import forget_old_request_keys

    hotfix = deployed(ctx)
    hotfixes.mark_merged(ctx, RAJ, hotfix.ref, "qa", "Checkout", request_key="action:U0RAJ:1")
    clock.advance(days=1)
    assert forget_old_request_keys(ctx) == 0
    clock.advance(days=1, minutes=1)
    assert forget_old_request_keys(ctx) == 1
