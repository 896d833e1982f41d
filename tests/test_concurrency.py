"""Two people acting on the same hotfix at the same moment: exactly one effect."""

from __future__ import annotations

import threading
from collections.abc import Callable

from commands import hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import DomainError
from commands.results import Outcome

ANA, RAJ, LEE, KIM = Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE"), Actor("U0KIM")


def race(*actions: Callable[[], Outcome]) -> tuple[list[Outcome], list[DomainError]]:
    """Run the actions in threads released together; collect successes and refusals."""
    barrier = threading.Barrier(len(actions))
    successes: list[Outcome] = []
    refusals: list[DomainError] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def run(action: Callable[[], Outcome]) -> None:
        barrier.wait()
        try:
            outcome = action()
        except DomainError as error:
            with lock:
                refusals.append(error)
        except BaseException as error:
            with lock:
                unexpected.append(error)
        else:
            with lock:
                successes.append(outcome)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not unexpected, unexpected
    return successes, refusals


def test_two_tag_and_deploys_at_once_apply_once(ctx: ServiceContext) -> None:
    ref = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails").hotfix.ref
    successes, refusals = race(
        lambda: hotfixes.request_deploy(ctx, ANA, ref),
        lambda: hotfixes.request_deploy(ctx, RAJ, ref, "1.7.2"),
    )
    assert len(successes) == 1 and len(refusals) == 1
    assert "already waits for approval" in refusals[0].message
    _, events = queries.history(ctx, ref)
    assert [e.kind for e in events].count("deploy_requested") == 1


def test_two_approvals_at_once_deploy_once(ctx: ServiceContext) -> None:
    ref = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails").hotfix.ref
    hotfixes.request_deploy(ctx, ANA, ref)
    successes, refusals = race(
        lambda: hotfixes.approve_deploy(ctx, LEE, ref),
        lambda: hotfixes.approve_deploy(ctx, KIM, ref),
    )
    assert len(successes) == 1 and len(refusals) == 1
    assert "already deployed as 1.7.1" in refusals[0].message
    assert queries.hotfix_status(ctx, ref).deployed_version == "1.7.1"


def test_two_opens_at_once_create_one_hotfix(ctx: ServiceContext) -> None:
    successes, refusals = race(
        lambda: hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails"),
        lambda: hotfixes.open_hotfix(ctx, RAJ, "eCommerce", ["Payments"], "Refunds fail"),
    )
    assert len(successes) == 1 and len(refusals) == 1
    assert "already has an unsolved hotfix" in refusals[0].message
    assert len(queries.red_hotfixes(ctx)) == 1


def test_the_same_click_twice_at_once_applies_once(ctx: ServiceContext) -> None:
    ref = hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails").hotfix.ref
    hotfixes.request_deploy(ctx, ANA, ref)
    hotfixes.approve_deploy(ctx, LEE, ref)
    successes, refusals = race(
        *[
            (lambda: hotfixes.mark_merged(ctx, RAJ, ref, "qa", "Checkout", request_key="a1"))
            for _ in range(4)
        ]
    )
    assert len(successes) == 1 and len(refusals) == 3
    _, events = queries.history(ctx, ref)
    assert [e.kind for e in events].count("merged") == 1
