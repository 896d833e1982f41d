"""Tag & Deploy through OutSystems LifeTime (a fake LifeTime server), end to end in Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import ids
from bot.deployments import warn_regressions
from commands import queries
from commands.applications import apply_catalog
from commands.catalog_file import parse_catalog
from commands.context import ServiceContext
from commands.deployers.registry import DeployerSecrets
from commands.lifecycle import HotfixState
from standin.lifetime import FakeLifeTime
from standin.stack import LocalSlackStack
from tests.bot_support import ANA, LEE, RAJ, Bot
from tests.conftest import ADMIN
from tests.support import MovableClock

ENVIRONMENTS = [
    ("Development", "Development"),
    ("Quality Assurance", "Test"),
    ("Pre-Production", "Test"),
    ("Production", "Production"),
]


@pytest.fixture
def lifetime() -> Iterator[FakeLifeTime]:
    with FakeLifeTime() as fake:
        for order, (name, kind) in enumerate(ENVIRONMENTS):
            fake.add_environment(name, order, kind)
        fake.add_application("Shop", ["Cart", "Pricing"])
        for name, version, modified in [
            ("Production", "3.2.0", False),
            ("Pre-Production", "3.2.0", False),
            ("Quality Assurance", "3.2.0", False),
            ("Development", "3.3.0", True),
        ]:
            fake.set_running("Shop", name, version, modified)
        yield fake


@pytest.fixture
def bot(ctx: ServiceContext, lifetime: FakeLifeTime) -> Iterator[Bot]:
    apply_catalog(
        ctx,
        ADMIN,
        parse_catalog(
            "applications:\n"
            "  - name: Shop\n"
            f"    deployer: {{kind: lifetime, url: '{lifetime.base_url}'}}\n"
            "    owners: [U0ANA, U0RAJ]\n"
            "    approvers: [U0LEE]\n"
            "    modules: [Cart, Pricing]\n"
            "    versions: {prod: 3.2.0, preprod: 3.2.0, qa: 3.2.0, dev: 3.3.0+}\n"
        ),
    )
    ctx.deployer_secrets = DeployerSecrets(lifetime_token=lifetime.token)
    with LocalSlackStack(ctx) as stack:
        yield Bot(stack)


def follow_until(bot: Bot, clock: MovableClock, done: object, passes: int = 10) -> None:
    assert bot.stack.services is not None
    for _ in range(passes):
        bot.stack.services.follower.follow()
        if callable(done) and done():
            return
        clock.advance(seconds=6)
    raise AssertionError("the deployment did not get there")


def deploying(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, "open Shop Cart Totals are wrong")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").state is HotfixState.DEPLOYING, "deploying"
    )


def state(ctx: ServiceContext) -> HotfixState:
    return queries.hotfix_status(ctx, "HF-1").state


def test_the_seed_scenario_through_lifetime(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    bot.wait_living("Deploying 3.2.1")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert lifetime.running_version("Shop", "Production") == "3.2.1"
    assert lifetime.running_version("Shop", "Pre-Production") == "3.2.1"
    assert any(path.endswith("/versions/") for method, path in lifetime.calls if method == "POST")
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "the merge checklist")
    assert any("Started LifeTime deployment" in t for t in bot.thread_texts())
    for environment in ("Quality Assurance", "Development"):
        for module in ("Cart",):
            bot.click(RAJ, ids.MERGED, value_contains=f"{environment}|{module}")
    bot.click(RAJ, ids.SOLVE)
    bot.wait_until(lambda: state(ctx) is HotfixState.SOLVED, "solved")


def test_open_asks_lifetime_whether_the_hotfix_environment_is_in_sync(
    bot: Bot, ctx: ServiceContext, lifetime: FakeLifeTime
) -> None:
    lifetime.set_running("Shop", "Pre-Production", "3.2.0", modified=True)
    bot.command(ANA, "open Shop Cart Totals are wrong")
    bot.wait_private(ANA, "Pre-Production carries untagged changes (3.2.0+)")
    assert queries.red_hotfixes(ctx) == []
    lifetime.set_running("Shop", "Production", "3.2.4")
    lifetime.set_running("Shop", "Pre-Production", "3.2.4")
    bot.command(ANA, "open Shop Cart Totals are wrong")
    bot.wait_living("HF-1")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert hotfix.base_version == "3.2.4", "the bot takes LifeTime's word for what runs"
    assert hotfix.suggested_version == "3.2.5"


def test_conflicts_refuse_the_deploy_with_details(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.add_conflict_for_next_deployment("Pricing needs Catalog 2.0 in Production")
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "Tag & Deploy offered again")
    assert any("Pricing needs Catalog 2.0 in Production" in t for t in bot.thread_texts())
    assert lifetime.running_version("Shop", "Production") == "3.2.0"


def test_needs_user_intervention_waits_for_an_approver(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.script_next_deployment(["running", "needs_user_intervention"])
    deploying(bot, ctx)
    follow_until(
        bot,
        clock,
        lambda: ids.CONTINUE_DEPLOYMENT in bot.buttons(),
    )
    assert bot.buttons() == {ids.CONTINUE_DEPLOYMENT, ids.ABORT_DEPLOYMENT}
    for _ in range(3):  # it never continues on its own
        clock.advance(seconds=20)
        assert bot.stack.services is not None
        bot.stack.services.follower.follow()
    assert state(ctx) is HotfixState.DEPLOYING
    bot.click(RAJ, ids.CONTINUE_DEPLOYMENT)
    bot.wait_private(RAJ, "Only the application's approvers may continue a deployment")
    bot.click(LEE, ids.CONTINUE_DEPLOYMENT)
    bot.wait_until(lambda: bot.buttons() == set(), "continued")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)


def test_abort_and_errors_leave_the_hotfix_open_and_red(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.script_next_deployment(["running", "needs_user_intervention"])
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: ids.ABORT_DEPLOYMENT in bot.buttons())
    bot.click(LEE, ids.ABORT_DEPLOYMENT)
    bot.wait_until(lambda: state(ctx) is HotfixState.OPEN, "aborted")
    assert queries.hotfix_status(ctx, "HF-1").red

    lifetime.script_next_deployment(["running", "finished_with_errors"])
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: state(ctx) is HotfixState.DEPLOYING, "deploying again")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    _, events = queries.history(ctx, "HF-1")
    assert events[-1].kind == "deploy_failed"
    assert events[-1].details["status"] == "finished_with_errors"


def test_an_expired_token_and_an_outage_are_waited_out(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    lifetime.expire_token()
    assert bot.stack.services is not None
    bot.stack.services.follower.follow()
    assert state(ctx) is HotfixState.DEPLOYING
    clock.advance(minutes=16)
    bot.stack.services.follower.follow()
    bot.wait_until(lambda: ids.RETRY_DEPLOYMENT in bot.buttons(), "shown as stuck")
    assert "LIFETIME_TOKEN" in bot.living_text()
    lifetime.renew_token(lifetime.token)
    bot.click(LEE, ids.RETRY_DEPLOYMENT)
    bot.wait_until(lambda: bot.buttons() == set(), "retrying")
    lifetime.fail_next("GET", "/deployments/", 503, times=2)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)


def test_never_deploys_a_lower_version(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    lifetime.set_running("Shop", "Production", "3.4.0")  # someone released meanwhile
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any("never deploys a lower version" in t for t in bot.thread_texts())
    assert lifetime.running_version("Shop", "Production") == "3.4.0"


def test_a_restart_while_deploying_resumes_following(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    assert bot.stack.services is not None
    bot.stack.services.follower.follow()  # started in LifeTime
    bot.stack.stop()
    with LocalSlackStack(ctx) as again:
        assert again.services is not None
        for _ in range(10):
            clock.advance(seconds=6)
            again.services.follower.follow()
            if state(ctx) is HotfixState.PROPAGATING:
                break
        assert state(ctx) is HotfixState.PROPAGATING
        starts = [p for m, p in lifetime.calls if m == "POST" and p.endswith("/start/")]
        assert len(starts) == 1, "the restarted process followed, it did not deploy again"
    bot.stack.start()


def test_regression_watch_warns_about_a_plan_from_an_environment_without_the_fix(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert bot.stack.services is not None
    deliverer = bot.stack.services.deliverer
    assert warn_regressions(ctx, deliverer) == []
    lifetime.create_deployment_plan(
        "Development", "Production", "Shop", notes="Release 3.3", created_on=clock()
    )
    warnings = warn_regressions(ctx, deliverer)
    assert [(w.source_environment, w.pending_modules) for w in warnings] == [
        ("Development", ("Cart",))
    ]
    bot.wait_until(lambda: any("would undo the hotfix" in t for t in bot.thread_texts()), "warned")
    dms = [c for c in bot.slack.calls("chat.postMessage") if c.params["channel"].startswith("D")]
    assert len(dms) == 2  # both owners
    assert warn_regressions(ctx, deliverer) == [], "each plan is warned about once"
