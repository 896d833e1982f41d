"""A seeded history of hotfixes with known times, for the report's tests."""

from __future__ import annotations

from datetime import timedelta

from commands import hotfixes
from commands.actors import Actor
from commands.context import ServiceContext
from tests.support import MovableClock

ANA, RAJ, LEE, KIM = Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE"), Actor("U0KIM")
# Who asks for Tag & Deploy and who approves it, per application of the example catalog.
PEOPLE = {"eCommerce": (ANA, LEE), "Back Office": (RAJ, KIM)}
MODULES = {"eCommerce": "Checkout", "Back Office": "Orders"}
SKIP_REASON = "Development was rebuilt from Production"


def run_hotfix(
    ctx: ServiceContext,
    clock: MovableClock,
    application: str,
    *,
    hours_to_production: float,
    hours_to_solved: float | None,
    skip_development: bool = False,
) -> str:
    """Open a hotfix now; deploy it `hours_to_production` later; solve it `hours_to_solved`
    after that (None: leave it propagating). Returns its ref."""
    requester, approver = PEOPLE[application]
    module = MODULES[application]
    ref = hotfixes.open_hotfix(ctx, requester, application, [module], "A defect").hotfix.ref
    clock.advance(hours=hours_to_production)
    hotfixes.request_deploy(ctx, requester, ref)
    hotfixes.approve_deploy(ctx, approver, ref)
    if hours_to_solved is None:
        return ref
    hotfixes.mark_merged(ctx, requester, ref, "Quality Assurance", module)
    clock.advance(hours=hours_to_solved)
    if skip_development:
        hotfixes.mark_skipped(ctx, requester, ref, "Development", module, SKIP_REASON)
    else:
        hotfixes.mark_merged(ctx, requester, ref, "Development", module)
    hotfixes.solve(ctx, requester, ref)
    return ref


def seed_history(ctx: ServiceContext, clock: MovableClock) -> None:
    """Six hotfixes over three weeks, opened at day 0, 7, 8, 14, 15 and 21 after the clock's
    start; the clock ends 5 h after the last one was opened.

    eCommerce: HF-1 (2 h to Production, solved 4 h after), HF-2 (6 h, 10 h, Development
    skipped), HF-4 (1 h, 2 h), HF-6 (3 h to Production, still propagating: red).
    Back Office: HF-3 (4 h, 8 h), HF-5 (cancelled after 1 h, never deployed).
    """
    start = clock()

    def day(days: float) -> None:
        clock.current = start + timedelta(days=days)

    run_hotfix(ctx, clock, "eCommerce", hours_to_production=2, hours_to_solved=4)
    day(7)
    run_hotfix(
        ctx, clock, "eCommerce", hours_to_production=6, hours_to_solved=10, skip_development=True
    )
    day(8)
    run_hotfix(ctx, clock, "Back Office", hours_to_production=4, hours_to_solved=8)
    day(14)
    run_hotfix(ctx, clock, "eCommerce", hours_to_production=1, hours_to_solved=2)
    day(15)
    ref = hotfixes.open_hotfix(ctx, RAJ, "Back Office", ["Orders"], "Not a defect").hotfix.ref
    clock.advance(hours=1)
    hotfixes.cancel(ctx, RAJ, ref, "Not a defect after all")
    day(21)
    run_hotfix(ctx, clock, "eCommerce", hours_to_production=3, hours_to_solved=None)
    clock.advance(hours=2)  # 5 h after HF-6 was opened
