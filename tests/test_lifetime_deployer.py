"""Tag & Deploy through OutSystems LifeTime (a fake LifeTime server), end to end in Slack."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from bot import ids
from bot.deployments import warn_regressions
from commands import queries
from commands.applications import apply_catalog
from commands.catalog_file import parse_catalog
from commands.context import ServiceContext
from commands.deployers.registry import DeployerSecrets
from commands.lifecycle import HotfixState
from standin.lifetime import FakeLifeTime
from standin.slack_client import text_input
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
            value = ids.ButtonValue("HF-1", environment, module).encode()
            bot.click(RAJ, ids.MERGED, value_contains=value)
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
    bot.wait_until(lambda: bot.buttons() == {ids.ABORT_DEPLOYMENT}, "continued")
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
    bot.wait_until(lambda: bot.buttons() == {ids.ABORT_DEPLOYMENT}, "retrying")
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


def test_deployments_are_counted_and_logged_by_deployer_and_status(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, caplog: pytest.LogCaptureFixture
) -> None:
    def counted(status: str) -> float:
        labels = {"deployer": "lifetime", "status": status}
        return REGISTRY.get_sample_value("hotfix_bot_deployments_total", labels) or 0.0

    finished_before = counted("finished_successful")
    caplog.set_level(logging.INFO, logger="commands.deployments")
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert counted("finished_successful") == finished_before + 1
    started = [r.getMessage() for r in caplog.records if r.name == "commands.deployments"]
    assert any(m.startswith("deployer lifetime start HF-1 -> ") for m in started), started


# ---------------------------------------------------------------- LifeTime as published (issue 9)


def _catalog(ctx: ServiceContext, lifetime: FakeLifeTime, versions: str) -> None:
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
            f"    versions: {versions}\n"
        ),
    )
    ctx.deployer_secrets = DeployerSecrets(lifetime_token=lifetime.token)


def _mark_failed(bot: Bot, user: str, reason: str) -> dict[str, object]:
    opened = len(bot.slack.calls("views.open"))
    bot.click(user, ids.MARK_DEPLOY_FAILED)
    # This click's modal, not an earlier one: a view's id and hash make the request key.
    bot.slack.wait_for("views.open", count=opened + 1)
    reply = bot.driver.view_submission(
        user, ids.REASON_MODAL, {ids.REASON_INPUT[0]: {ids.REASON_INPUT[1]: text_input(reason)}}
    )
    assert reply.status == 200
    return reply.json or {}


def _version_posts(lifetime: FakeLifeTime) -> int:
    return sum(1 for m, p in lifetime.calls if m == "POST" and p.endswith("/versions/"))


def test_the_seed_scenario_with_two_number_versions(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    """The seed: LifeTime runs 1.7; it suggests Tag & Deploy 1.7.1, tagged with a third number."""
    with FakeLifeTime() as lifetime:
        for order, (name, kind) in enumerate(ENVIRONMENTS):
            lifetime.add_environment(name, order, kind)
        lifetime.add_application("Shop", ["Cart", "Pricing"])
        for name, version, modified in [
            ("Production", "1.7", False),
            ("Pre-Production", "1.7", False),
            ("Quality Assurance", "1.7", False),
            ("Development", "1.8", True),
        ]:
            lifetime.set_running("Shop", name, version, modified)
        _catalog(ctx, lifetime, "{prod: '1.7', preprod: '1.7', qa: '1.7', dev: 1.8+}")
        with LocalSlackStack(ctx) as stack:
            bot = Bot(stack)
            bot.command(ANA, "open Shop Cart Totals are wrong")
            bot.wait_living("HF-1")
            hotfix = queries.hotfix_status(ctx, "HF-1")
            assert hotfix.base_version == "1.7", "shown as written"
            assert hotfix.suggested_version == "1.7.1"
            bot.click(ANA, ids.DEPLOY)
            bot.click(LEE, ids.APPROVE)
            bot.wait_living("Deploying 1.7.1")
            follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
            assert lifetime.running_version("Shop", "Production") == "1.7.1"
            assert lifetime.running_version("Shop", "Pre-Production") == "1.7.1"
            texts = bot.thread_texts()
            assert any("Tagged 1.7.1 in Pre-Production" in t for t in texts)
            # Every line of LifeTime's DeploymentLog reaches the thread, once, the first too.
            assert sum("Deployment started by hotfix-bot." in t for t in texts) == 1
            assert sum("Finished deploying Shop 1.7.1 successfully." in t for t in texts) == 1
            for module in ("Cart",):
                for environment in ("Quality Assurance", "Development"):
                    value = ids.ButtonValue("HF-1", environment, module).encode()
                    bot.click(RAJ, ids.MERGED, value_contains=value)
            bot.click(RAJ, ids.SOLVE)
            bot.wait_until(lambda: state(ctx) is HotfixState.SOLVED, "solved")


def test_production_at_3_3_is_never_sent_a_version_at_or_below_it(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    """The catalog says 3.2.0; LifeTime says Production runs 3.3 (two numbers): no downgrade."""
    deploying(bot, ctx)  # the bot suggested 3.2.1 from its records
    lifetime.set_running("Shop", "Production", "3.3")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any("never deploys a lower version" in t for t in bot.thread_texts())
    assert _version_posts(lifetime) == 0, "nothing was even tagged"
    assert not [p for m, p in lifetime.calls if m == "POST" and p == "/deployments/"]
    assert lifetime.running_version("Shop", "Production") == "3.3"
    bot.command(ANA, "deploy HF-1 3.3")  # 3.3 == 3.3.0, which Development was tagged with
    bot.wait_private(ANA, "3.3 was tagged before")
    bot.command(ANA, "deploy HF-1 3.2.2")  # accepted by the bot's records, refused by LifeTime's
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: state(ctx) is HotfixState.DEPLOYING, "deploying 3.2.2")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert _version_posts(lifetime) == 0
    assert lifetime.running_version("Shop", "Production") == "3.3"


def test_production_at_3_3_when_opening_makes_the_next_patch_3_3_1(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.set_running("Shop", "Production", "3.3")
    lifetime.set_running("Shop", "Pre-Production", "3.3")
    bot.command(ANA, "open Shop Cart Totals are wrong")
    bot.wait_living("HF-1")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert (hotfix.base_version, hotfix.suggested_version) == ("3.3", "3.3.1")
    bot.command(ANA, "deploy HF-1 3.3.0")
    bot.wait_private(ANA, "not above Production's 3.3")
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert lifetime.running_version("Shop", "Production") == "3.3.1"


def test_an_unreadable_version_from_lifetime_stops_and_is_named(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    lifetime.set_running("Shop", "Production", "3.3-beta")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any("'3.3-beta' is not a version" in t for t in bot.thread_texts())
    assert _version_posts(lifetime) == 0
    bot.command(ANA, "status HF-1")  # opening again is stopped the same way, naming it
    bot.command(RAJ, "open Shop Pricing Another bug")
    bot.wait_private(RAJ, "'3.3-beta' is not a version")


def test_force_finished_without_the_version_in_production_is_a_failed_deploy(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.script_next_deployment(["running", "force_finished"])
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any("force-finished" in t and "deploy failed" in t for t in bot.thread_texts())
    assert queries.hotfix_status(ctx, "HF-1").red
    bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "Tag & Deploy offered again")


def test_force_finished_with_the_version_in_production_is_a_done_deploy(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.script_next_deployment(["running", "running", "force_finished"])
    deploying(bot, ctx)
    assert bot.stack.services is not None
    bot.stack.services.follower.follow()  # started: 3.2.1 is tagged in Pre-Production
    lifetime.set_running("Shop", "Production", "3.2.1")  # it did land before the force finish
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert any("force-finished" in t and "deploy is done" in t for t in bot.thread_texts())


def test_an_unknown_status_is_shown_verbatim_and_mark_deploy_failed_ends_it(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.script_next_deployment(["running", "quantum_superposition"], unknown_ok=True)
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: "quantum_superposition" in bot.living_text())
    bot.wait_until(
        lambda: bot.buttons() == {ids.ABORT_DEPLOYMENT, ids.MARK_DEPLOY_FAILED}, "ways to an end"
    )
    bot.click(LEE, ids.ABORT_DEPLOYMENT)  # LifeTime refuses to abort in that status
    bot.wait_private(LEE, "mark the deploy failed")
    assert state(ctx) is HotfixState.DEPLOYING
    refused = _mark_failed(bot, RAJ, "LifeTime shows it finished by hand")
    assert "approvers" in str(refused.get("errors"))
    assert _mark_failed(bot, LEE, " ").get("response_action") == "errors"
    assert _mark_failed(bot, LEE, "LifeTime shows it finished by hand") == {}
    bot.wait_until(lambda: state(ctx) is HotfixState.OPEN, "open again")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert hotfix.red
    bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "Tag & Deploy offered again")
    _, events = queries.history(ctx, "HF-1")
    assert events[-1].kind == "deploy_failed"
    assert "LifeTime shows it finished by hand" in str(events[-1].details["reason"])
    for _ in range(3):  # the bot no longer follows it
        clock.advance(seconds=6)
        bot.stack.services.follower.follow() if bot.stack.services else None
    assert state(ctx) is HotfixState.OPEN


def test_conflicts_delete_the_plan_the_bot_created(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.one_plan_per_target = True  # LifeTime before 11.21.0
    lifetime.add_conflict_for_next_deployment("Pricing needs Catalog 2.0 in Production")
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any("The bot deleted the plan" in t for t in bot.thread_texts())
    assert [m for m, p in lifetime.calls if m == "DELETE"] == ["DELETE"]
    assert lifetime.deployment_statuses == {}, "no plan left behind to block the next one"
    # The next Tag & Deploy is not blocked by a leftover plan; it reuses the tag.
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: state(ctx) is HotfixState.DEPLOYING, "deploying again")
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert lifetime.running_version("Shop", "Production") == "3.2.1"


def test_the_one_plan_rule_names_the_plan_that_blocks(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.one_plan_per_target = True
    blocking = lifetime.create_deployment_plan("Development", "Production", "Shop")
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any(blocking in t and "already a deployment plan" in t for t in bot.thread_texts())
    assert set(lifetime.deployment_statuses) == {blocking}, "the other team's plan is untouched"


def test_a_slow_new_version_is_waited_for_before_planning(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.slow_new_versions(2)
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING)
    assert lifetime.running_version("Shop", "Production") == "3.2.1"
    assert _version_posts(lifetime) == 1


def test_a_new_status_updates_the_living_message_at_the_next_poll(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.script_next_deployment(["running", "needs_user_intervention"])
    deploying(bot, ctx)
    assert bot.stack.services is not None
    bot.stack.services.follower.follow()  # started
    clock.advance(seconds=6)
    bot.stack.services.follower.follow()  # running
    bot.wait_living("· running")
    clock.advance(seconds=6)
    bot.stack.services.follower.follow()  # needs_user_intervention
    bot.wait_living("· needs_user_intervention")


def test_every_deploying_state_reaches_an_end_by_a_button(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    """Each round: get the deployment into a state, then end it by the buttons it shows."""
    assert bot.stack.services is not None
    follower = bot.stack.services.follower
    rounds = [  # (the state, LifeTime's script, polls before the click, the ending button)
        ("starting", ["running"], 0, ids.ABORT_DEPLOYMENT),
        ("running", ["running", "running", "running"], 2, ids.ABORT_DEPLOYMENT),
        ("needs_user_intervention", ["needs_user_intervention"], 2, ids.ABORT_DEPLOYMENT),
        ("undocumented", ["rolling_back"], 2, ids.MARK_DEPLOY_FAILED),
    ]
    for number, (what, script, polls, ending) in enumerate(rounds, start=1):
        lifetime.script_next_deployment(script, unknown_ok=True)
        if number == 1:
            deploying(bot, ctx)
        else:
            bot.click(ANA, ids.DEPLOY)
            bot.click(LEE, ids.APPROVE)
            bot.wait_until(lambda: state(ctx) is HotfixState.DEPLOYING, f"deploying ({what})")
        for _ in range(polls):
            follower.follow()
            clock.advance(seconds=6)
        bot.wait_until(
            lambda offered=ending: offered in bot.buttons(), f"{ending} offered when {what}"
        )
        if ending == ids.MARK_DEPLOY_FAILED:
            assert _mark_failed(bot, LEE, f"ended by hand: {what}") == {}
        else:
            bot.click(LEE, ending)
        bot.wait_until(lambda: state(ctx) is HotfixState.OPEN, f"an end when {what}")
        bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "Tag & Deploy offered again")
    # Stuck (LifeTime unreachable for long): Retry, Abort and Mark deploy failed are offered.
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: state(ctx) is HotfixState.DEPLOYING, "deploying (stuck)")
    lifetime.expire_token()
    follower.follow()
    clock.advance(minutes=16)
    follower.follow()
    bot.wait_until(lambda: ids.MARK_DEPLOY_FAILED in bot.buttons(), "stuck: mark failed offered")
    assert {ids.RETRY_DEPLOYMENT, ids.ABORT_DEPLOYMENT} <= bot.buttons()
    assert _mark_failed(bot, LEE, "LifeTime is down for the day") == {}
    bot.wait_until(lambda: state(ctx) is HotfixState.OPEN, "an end when stuck")


def test_the_follow_honours_deploy_poll_seconds(
    ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    _catalog(ctx, lifetime, "{prod: 3.2.0, preprod: 3.2.0, qa: 3.2.0, dev: 3.3.0+}")
    ctx.deploy_poll_every = timedelta(seconds=30)  # DEPLOY_POLL_SECONDS=30
    with LocalSlackStack(ctx) as stack:
        bot = Bot(stack)
        assert stack.services is not None
        deploying(bot, ctx)
        stack.services.follower.follow()  # started

        def status_reads() -> int:
            return sum(1 for m, p in lifetime.calls if m == "GET" and p.endswith("/status/"))

        clock.advance(seconds=6)
        stack.services.follower.follow()
        assert status_reads() == 0, "not due before DEPLOY_POLL_SECONDS"
        clock.advance(seconds=25)
        stack.services.follower.follow()
        assert status_reads() == 1


def test_the_cli_marks_a_deploy_failed(
    ctx: ServiceContext, database_url: str, lifetime: FakeLifeTime
) -> None:
    from click.testing import CliRunner

    from cli.main import main
    from commands import hotfixes
    from commands.actors import Actor

    _catalog(ctx, lifetime, "{prod: 3.2.0, preprod: 3.2.0, qa: 3.2.0, dev: 3.3.0+}")
    hotfixes.open_hotfix(ctx, Actor(ANA), "Shop", ["Cart"], "Totals are wrong")
    hotfixes.request_deploy(ctx, Actor(ANA), "HF-1")
    hotfixes.approve_deploy(ctx, Actor(LEE), "HF-1")
    assert state(ctx) is HotfixState.DEPLOYING
    runner = CliRunner()
    args = ["deploy-failed", "HF-1", "--database-url", database_url]
    empty = runner.invoke(main, args)
    assert empty.exit_code != 0
    done = runner.invoke(main, [*args, "LifeTime", "lost", "it", "--as", LEE])
    assert done.exit_code == 0, done.output
    assert state(ctx) is HotfixState.OPEN
    again = runner.invoke(main, [*args, "twice", "--as", LEE])
    assert again.exit_code != 0 and "no deployment running" in again.output


def test_a_refused_status_read_does_not_end_a_started_deployment(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    deploying(bot, ctx)
    assert bot.stack.services is not None
    bot.stack.services.follower.follow()  # started
    lifetime.fail_next("GET", "/deployments/", 403, times=1)
    clock.advance(seconds=6)
    bot.stack.services.follower.follow()
    assert state(ctx) is HotfixState.DEPLOYING, "LifeTime may still be deploying it"
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING, passes=20)


def test_a_plan_lifetime_will_not_start_is_deleted(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.one_plan_per_target = True
    lifetime.refuse_next_start(400)
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.OPEN)
    assert any("did not start" in t and "deleted the plan" in t for t in bot.thread_texts())
    assert lifetime.deployment_statuses == {}


def test_a_start_lost_to_an_outage_is_tried_again_without_a_second_plan(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, lifetime: FakeLifeTime
) -> None:
    lifetime.one_plan_per_target = True
    lifetime.refuse_next_start(503)
    lifetime.refuse_next_start(503)
    lifetime.refuse_next_start(503)
    lifetime.refuse_next_start(503)
    deploying(bot, ctx)
    follow_until(bot, clock, lambda: state(ctx) is HotfixState.PROPAGATING, passes=20)
    assert _version_posts(lifetime) == 1, "the tag is reused"
    assert len(lifetime.deployment_statuses) == 1, "the unstarted plan was deleted"
