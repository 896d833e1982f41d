"""The webhook deployer: a signed event to a CI pipeline, signed results back, end to end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot import ids
from commands import queries
from commands.applications import apply_catalog
from commands.catalog_file import parse_catalog
from commands.context import ServiceContext
from commands.deployers.registry import DeployerSecrets
from commands.lifecycle import HotfixState
from standin.ci_pipeline import FakeCiPipeline
from standin.stack import LocalSlackStack
from tests.bot_support import ANA, LEE, RAJ, Bot
from tests.conftest import ADMIN
from tests.support import MovableClock

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def pipeline() -> Iterator[FakeCiPipeline]:
    with FakeCiPipeline(SECRET) as running:
        yield running


@pytest.fixture
def bot(ctx: ServiceContext, pipeline: FakeCiPipeline) -> Iterator[Bot]:
    apply_catalog(
        ctx,
        ADMIN,
        parse_catalog(
            "applications:\n"
            "  - name: Storefront\n"
            f"    deployer: {{kind: webhook, url: '{pipeline.url}'}}\n"
            "    owners: [U0ANA, U0RAJ]\n"
            "    approvers: [U0LEE]\n"
            "    modules: [Cart]\n"
            "    versions: {prod: 2.0.0, preprod: 2.0.0, qa: 2.0.0, dev: 2.1.0+}\n"
        ),
    )
    ctx.deployer_secrets = DeployerSecrets(webhook_secret=SECRET)
    with LocalSlackStack(ctx) as stack:
        assert stack.server is not None
        ctx.deployer_secrets = replace(ctx.deployer_secrets, public_url=stack.server.url)
        yield Bot(stack)


def callback_url(bot: Bot) -> str:
    assert bot.stack.server is not None
    return f"{bot.stack.server.url}/deployments/callback"


def follow(bot: Bot) -> list:
    assert bot.stack.services is not None
    return bot.stack.services.follower.follow()


def approved(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, "open Storefront Cart Cart empties at checkout")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").state is HotfixState.DEPLOYING, "deploying"
    )


def test_the_seed_scenario_through_a_ci_pipeline(
    bot: Bot, ctx: ServiceContext, pipeline: FakeCiPipeline
) -> None:
    approved(bot, ctx)
    bot.wait_living("Deploying 2.0.1")
    assert bot.buttons() == {ids.ABORT_DEPLOYMENT}, "only Abort while the pipeline deploys"
    follow(bot)
    event = pipeline.wait_for_event()
    assert event.signature_valid
    assert event.body["hotfix"] == "HF-1" and event.body["version"] == "2.0.1"
    assert event.body["source_environment"] == "Pre-Production"
    assert event.body["target_environment"] == "Production"
    assert event.body["callback_url"] == callback_url(bot)

    status, answer, _, _ = pipeline.report(
        callback_url(bot), "hfd-1", "running", log=["Building 2.0.1", "Running smoke tests"]
    )
    assert (status, answer["ok"]) == (200, True)
    bot.wait_until(lambda: any("Running smoke tests" in t for t in bot.thread_texts()), "log lines")
    assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.DEPLOYING

    status, _, _, _ = pipeline.report(callback_url(bot), "hfd-1", "succeeded", log=["Deployed"])
    assert status == 200
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "the merge checklist")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert hotfix.deployed_version == "2.0.1"
    assert {line.name: line.shown_version for line in hotfix.pipeline}["Production"] == "2.0.1"

    bot.click(RAJ, ids.MERGED, value_contains="Quality Assurance")
    bot.click(RAJ, ids.MERGED, value_contains="Development")
    bot.click(RAJ, ids.SOLVE)
    bot.wait_until(lambda: queries.hotfix_status(ctx, "HF-1").state is HotfixState.SOLVED, "solved")


def test_callbacks_are_signed_fresh_once_and_known(
    bot: Bot, ctx: ServiceContext, pipeline: FakeCiPipeline
) -> None:
    approved(bot, ctx)
    follow(bot)
    pipeline.wait_for_event()
    url = callback_url(bot)
    assert pipeline.report(url, "hfd-1", "succeeded", secret="wrong")[0] == 401
    assert pipeline.report(url, "hfd-1", "succeeded", timestamp=time.time() - 600)[0] == 401
    assert pipeline.report(url, "hfd-99", "succeeded")[0] == 404
    assert pipeline.report(url, "hfd-1", "exploded")[0] == 400
    status, _, body, headers = pipeline.report(url, "hfd-1", "running", log=["step 1"])
    assert status == 200
    replay = pipeline.report(url, "hfd-1", "running", raw=body, headers=headers)
    assert replay[0] == 409
    assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.DEPLOYING


def test_a_failed_pipeline_leaves_the_hotfix_open_and_red(
    bot: Bot, ctx: ServiceContext, pipeline: FakeCiPipeline
) -> None:
    approved(bot, ctx)
    follow(bot)
    pipeline.wait_for_event()
    pipeline.report(callback_url(bot), "hfd-1", "failed", info="smoke tests failed")
    bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "Tag & Deploy offered again")
    hotfix = queries.hotfix_status(ctx, "HF-1")
    assert hotfix.state is HotfixState.OPEN and hotfix.red
    assert any("smoke tests failed" in t for t in bot.thread_texts())
    # The next attempt suggests the same version: it never reached Production.
    assert hotfix.suggested_version == "2.0.1"


def test_a_pipeline_that_refuses_the_event(
    bot: Bot, ctx: ServiceContext, pipeline: FakeCiPipeline
) -> None:
    pipeline.answer_status = 422
    approved(bot, ctx)
    follow(bot)
    bot.wait_until(
        lambda: queries.hotfix_status(ctx, "HF-1").state is HotfixState.OPEN, "back to open"
    )
    assert any("refused the deployment (422)" in t for t in bot.thread_texts())


def test_a_silent_pipeline_is_shown_stuck_then_retried_or_aborted(
    bot: Bot, ctx: ServiceContext, clock: MovableClock, pipeline: FakeCiPipeline
) -> None:
    approved(bot, ctx)
    follow(bot)
    pipeline.wait_for_event()
    clock.advance(minutes=16)
    follow(bot)
    stuck = {ids.RETRY_DEPLOYMENT, ids.ABORT_DEPLOYMENT, ids.MARK_DEPLOY_FAILED}
    bot.wait_until(lambda: bot.buttons() == stuck, "stuck")
    assert "No progress for a while" in bot.living_text()
    bot.click(ANA, ids.RETRY_DEPLOYMENT)
    bot.wait_private(ANA, "Only the application's approvers may retry a deployment")
    bot.click(LEE, ids.RETRY_DEPLOYMENT)
    bot.wait_until(lambda: bot.buttons() == {ids.ABORT_DEPLOYMENT}, "retried")
    clock.advance(minutes=16)
    follow(bot)
    bot.wait_until(lambda: ids.ABORT_DEPLOYMENT in bot.buttons(), "stuck again")
    bot.click(LEE, ids.ABORT_DEPLOYMENT)
    bot.wait_until(lambda: ids.DEPLOY in bot.buttons(), "aborted: open again")
    assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.OPEN


def test_following_resumes_after_a_restart(
    ctx: ServiceContext, pipeline: FakeCiPipeline, bot: Bot
) -> None:
    approved(bot, ctx)
    bot.stack.stop()  # the process dies before it started the deployment
    with LocalSlackStack(ctx) as again:
        assert again.services is not None and again.server is not None
        again.services.follower.follow()
        assert pipeline.wait_for_event().body["deployment_id"] == "hfd-1"
        status, _, _, _ = pipeline.report(
            f"{again.server.url}/deployments/callback", "hfd-1", "succeeded"
        )
        assert status == 200
        assert queries.hotfix_status(ctx, "HF-1").state is HotfixState.PROPAGATING
    bot.stack.start()  # the fixture stops it again
