"""Following deployments that take minutes: start them, poll them, steer them, finish them.

The database holds what is in flight (table `deployment`), so a restarted process resumes
following it. Calls to the deployment system happen outside any transaction; what they return
is recorded in one, under the hotfix's row lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from commands import outbox, runner
from commands.actors import Actor, require_approver
from commands.context import ServiceContext
from commands.deployers import port
from commands.deployers.port import (
    Deployer,
    DeployerUnavailable,
    DeployRefused,
    DeployRequest,
    Progress,
)
from commands.deployers.registry import deployer_for
from commands.deployers.webhook import BadSignature, parse_callback, verify
from commands.errors import Refused
from commands.hotfixes import _required_text, lock_hotfix, record_deploy
from commands.lifecycle import HotfixState
from commands.refs import format_hotfix_ref, parse_hotfix_ref
from commands.results import EventLine, HotfixSnapshot, Outcome
from commands.runner import HotfixChange
from commands.snapshots import hotfix_snapshots, pipeline_of, role_members
from commands.versions import Version
from storage.models import Deployment, Hotfix
from storage.repository import Repository

CLAIM_LEASE = timedelta(minutes=2)
POLL_WAITING_EVERY = timedelta(seconds=15)  # needs a person, or results come by callback
MAX_BACKOFF = timedelta(minutes=5)
SYSTEM = "deployer"  # the actor of events the deployment system caused
LOG_LINES_PER_POST = 20  # a few log lines per thread post, not one post per line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeploymentNews:
    """What the Slack side should tell: new log lines, and a change of step if any."""

    hotfix: HotfixSnapshot
    log: tuple[str, ...]
    event: EventLine | None
    work: outbox.Work | None = None  # claimed for this process to send (see commands.outbox)


@dataclass(frozen=True)
class _Claimed:
    deployment_id: int
    deployer: Deployer | None
    problem: str | None
    request: DeployRequest
    external_key: str | None


def advance(ctx: ServiceContext, worker: str, limit: int = 50) -> list[DeploymentNews]:
    """One pass of the follower: every deployment due for attention moves on if it can."""
    news = []
    for claimed in _claim(ctx, worker, limit):
        progress: Progress | None = None
        problem = claimed.problem
        refused: str | None = None
        if claimed.deployer is not None:
            operation = "start" if claimed.external_key is None else "poll"
            started = time.perf_counter()
            try:
                if claimed.external_key is None:
                    progress = claimed.deployer.start(claimed.request)
                else:
                    progress = claimed.deployer.poll(claimed.external_key)
            except DeployRefused as error:
                if claimed.external_key is None:
                    refused = error.message  # it could not be started: final
                else:
                    # A started deployment is not over because one read was refused: keep
                    # following (it shows as stuck, and Mark deploy failed… ends it).
                    problem = error.message
            except DeployerUnavailable as error:
                problem = error.message
            _log_call(claimed, operation, progress, refused or problem, started)
        if refused is not None:
            progress = Progress(port.FAILED, info=refused)
        item = _record(ctx, claimed.deployment_id, progress, problem, worker=worker)
        if item is not None:
            news.append(item)
    return news


def _log_call(
    claimed: _Claimed,
    operation: str,
    progress: Progress | None,
    trouble: str | None,
    started: float,
) -> None:
    """One line per deployer call; a poll every few seconds that went fine is DEBUG."""
    if trouble is not None:
        outcome = trouble
    else:
        outcome = progress.status if progress is not None else "no news"
    assert claimed.deployer is not None
    log.log(
        logging.DEBUG if operation == "poll" and trouble is None else logging.INFO,
        "deployer %s %s %s -> %s (%.0f ms)",
        claimed.deployer.kind,
        operation,
        claimed.request.hotfix_ref,
        outcome,
        (time.perf_counter() - started) * 1000,
    )


def _claim(ctx: ServiceContext, worker: str, limit: int) -> list[_Claimed]:
    now = ctx.now()
    with ctx.db.write() as repository:
        rows = repository.claim_due_deployments(
            now, worker, now + CLAIM_LEASE, limit, port.TERMINAL
        )
        hotfixes = {h.id: h for h in repository.hotfixes_by_ids(r.hotfix_id for r in rows)}
        apps = repository.applications_by_ids(h.application_id for h in hotfixes.values())
        pipeline = pipeline_of(repository.environments())
        claimed = []
        for row in rows:
            hotfix = hotfixes[row.hotfix_id]
            app = apps[hotfix.application_id]
            deployer: Deployer | None = None
            problem = None
            try:
                deployer = deployer_for(app.deployer, app.deployer_settings, ctx.deployer_secrets)
            except DeployRefused as error:
                problem = error.message
            claimed.append(
                _Claimed(
                    deployment_id=_id(row),
                    deployer=deployer,
                    problem=problem,
                    external_key=row.external_key,
                    request=DeployRequest(
                        deployment_id=_id(row),
                        hotfix_ref=format_hotfix_ref(row.hotfix_id),
                        application=app.name,
                        summary=hotfix.summary,
                        version=row.version,
                        source_environment=pipeline.hotfix_environment_name,
                        target_environment=pipeline.production.name,
                        requested_by=row.requested_by,
                    ),
                )
            )
        return claimed


def _record(
    ctx: ServiceContext,
    deployment_id: int,
    progress: Progress | None,
    problem: str | None,
    *,
    worker: str | None,
    incremental: bool = False,
) -> DeploymentNews | None:
    now = ctx.now()
    with ctx.db.write() as repository:
        peek = repository.deployment(deployment_id)
        if peek is None:
            return None
        hotfix = repository.hotfix(peek.hotfix_id, for_update=True)
        row = repository.deployment(deployment_id, for_update=True)
        assert hotfix is not None and row is not None
        if worker is not None and row.claimed_by != worker:
            return None  # the lease passed to another worker meanwhile
        if row.finished_at is not None:
            return None  # ended meanwhile (aborted or marked failed by a person)
        row.claimed_by = None
        row.claimed_until = None
        new_lines: tuple[str, ...] = ()
        outcome: Outcome | None = None  # when the step changed: its event and outbox rows
        lines: list[tuple[str, dict[str, Any]]] = []
        changed = False
        reached: str | None = None
        if progress is not None:
            row.attempts = 0
            if progress.external_key:
                row.external_key = progress.external_key
            # Pollers get the whole log each time; a callback sends only what is new. The
            # cursor counts the deployment system's lines only: the bot's own notes are new
            # each time and are told once, never counted against the system's log.
            system_lines = progress.log if incremental else progress.log[row.log_lines :]
            new_lines = progress.notes + system_lines
            lines = _log_posts(new_lines)
            if new_lines or progress.status != row.status:
                row.last_progress_at = now
                changed = True
                row.stuck = False
            row.log_lines = (
                row.log_lines + len(system_lines)
                if incremental
                else max(row.log_lines, len(progress.log))
            )
            row.last_log = new_lines[-1] if new_lines else row.last_log
            previous = row.status
            row.status = progress.status
            if row.status != previous:
                reached = row.status
            row.info = progress.info or row.info
            outcome = _conclude(ctx, repository, hotfix, row, previous, now, lines)
        elif problem is not None:
            row.attempts += 1
            row.info = problem
        if row.status not in port.TERMINAL:
            row.next_poll_at = now + _wait(ctx, row, progress)
            if not row.stuck and now - row.last_progress_at > ctx.deploy_stuck_after:
                row.stuck = True
                changed = True
                if outcome is None:
                    outcome = _event(ctx, repository, hotfix, "deploy_stuck", row, now, lines)
        repository.add(row)
        deployer_kind = row.deployer
        if outcome is not None:
            repository.flush()
            news: DeploymentNews | None = DeploymentNews(
                outcome.hotfix, new_lines, outcome.event, outcome.work
            )
        elif not new_lines and not changed:
            news = None
        else:
            news = _progress_news(ctx, repository, hotfix, new_lines, lines, changed, now)
    if reached is not None:
        ctx.on_deployment_status(deployer_kind, reached)
    return news


def _progress_news(
    ctx: ServiceContext,
    repository: Repository,
    hotfix: Hotfix,
    new_lines: tuple[str, ...],
    lines: Sequence[tuple[str, dict[str, Any]]],
    changed: bool,
    now: datetime,
) -> DeploymentNews:
    """Progress without a step: log lines for the thread and, when it shows, a new revision."""
    if changed:
        hotfix.revision += 1  # the living message shows the progress
        repository.add(hotfix)
    repository.flush()
    snapshot = hotfix_snapshots(repository, [hotfix])[0]
    app = repository.application(hotfix.application_id)
    work = outbox.record(ctx, repository, hotfix, app, snapshot, now, lines=lines)
    return DeploymentNews(snapshot, new_lines, None, work)


def _log_posts(log: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Log lines for the thread, a few per post rather than one post per line."""
    return [
        (outbox.LOG, {"lines": list(log[start : start + LOG_LINES_PER_POST])})
        for start in range(0, len(log), LOG_LINES_PER_POST)
    ]


def _wait(ctx: ServiceContext, row: Deployment, progress: Progress | None) -> timedelta:
    every = ctx.deploy_poll_every  # DEPLOY_POLL_SECONDS
    if progress is None and row.attempts:
        return min(every * (2 ** min(row.attempts, 10)), MAX_BACKOFF)
    if row.status == port.NEEDS_USER_INTERVENTION or row.deployer == "webhook":
        return max(every, POLL_WAITING_EVERY)
    return every


def _conclude(
    ctx: ServiceContext,
    repository: Repository,
    hotfix: Any,
    row: Deployment,
    previous: str,
    now: datetime,
    lines: Sequence[tuple[str, dict[str, Any]]] = (),
) -> Outcome | None:
    """Turn a deployment's new status into the hotfix's next step (its log lines go to the
    thread first)."""
    if HotfixState(hotfix.state) is not HotfixState.DEPLOYING:
        return None
    app = repository.application(hotfix.application_id)
    if row.status in port.SUCCEEDED:
        row.finished_at = now
        record_deploy(repository, hotfix, app, Version.parse(row.version), row.requested_by, now)
        details = {"version": row.version, "deployer": row.deployer}
        if row.status == port.FINISHED_WITH_WARNINGS:
            details["warnings"] = row.info or "finished with warnings"
        change = HotfixChange(hotfix, app, "deployed", details)
        return _system_change(ctx, repository, change, now, lines)
    if row.status in (port.FINISHED_WITH_ERRORS, port.ABORTED, port.FAILED):
        row.finished_at = now
        return _system_change(ctx, repository, _back_to_open(hotfix, row, app), now, lines)
    if row.status == port.NEEDS_USER_INTERVENTION and previous != port.NEEDS_USER_INTERVENTION:
        return _event(ctx, repository, hotfix, "deploy_needs_intervention", row, now, lines)
    return None


def _back_to_open(hotfix: Any, row: Deployment, app: Any) -> HotfixChange:
    """A deployment that failed or was aborted: the hotfix waits for Tag & Deploy again."""
    hotfix.state = HotfixState.OPEN.value
    hotfix.requested_version = None
    hotfix.requested_by = None
    hotfix.requested_at = None
    hotfix.approved_by = None
    details = {"version": row.version, "status": row.status, "reason": row.info or row.status}
    return HotfixChange(hotfix, app, "deploy_failed", details, actor=Actor(SYSTEM))


def _event(
    ctx: ServiceContext,
    repository: Repository,
    hotfix: Any,
    kind: str,
    row: Deployment,
    now: datetime,
    lines: Sequence[tuple[str, dict[str, Any]]] = (),
) -> Outcome:
    details = {"version": row.version, "info": row.info or row.last_log}
    app = repository.application(hotfix.application_id)
    change = HotfixChange(hotfix, app, kind, details, reschedule=False)
    return _system_change(ctx, repository, change, now, lines)


def _system_change(
    ctx: ServiceContext,
    repository: Repository,
    change: HotfixChange,
    now: datetime,
    lines: Sequence[tuple[str, dict[str, Any]]] = (),
) -> Outcome:
    """A change the deployment system caused, recorded like a person's (see runner)."""
    return runner.record_change(ctx, repository, change, Actor(SYSTEM), now, lines=lines)


# steering ---------------------------------------------------------------------------------------


def continue_deployment(ctx: ServiceContext, actor: Actor, hotfix_ref: str) -> DeploymentNews:
    """Continue a deployment that needs a person (LifeTime's needs_user_intervention)."""
    return _steer(ctx, actor, hotfix_ref, "continue")


def abort_deployment(ctx: ServiceContext, actor: Actor, hotfix_ref: str) -> DeploymentNews:
    return _steer(ctx, actor, hotfix_ref, "abort")


def retry_deployment(ctx: ServiceContext, actor: Actor, hotfix_ref: str) -> DeploymentNews:
    """Look again at a deployment shown as stuck (and start it again if it never started)."""
    return _steer(ctx, actor, hotfix_ref, "retry")


def _steer(ctx: ServiceContext, actor: Actor, hotfix_ref: str, command: str) -> DeploymentNews:
    hotfix_id = parse_hotfix_ref(hotfix_ref)
    ref = format_hotfix_ref(hotfix_id)
    # The deployment system is called outside any transaction (a network call), after a first
    # look; the runner then checks everything again under the hotfix's lock.
    with ctx.db.read() as repository:
        hotfix = lock_hotfix(repository, hotfix_id)
        row = _running_deployment(repository, hotfix, ref)
        _require_steerer(repository, actor, hotfix, command)
        app = repository.application(hotfix.application_id)
        external_key, status = row.external_key, row.status
        being_started = row.claimed_until is not None and row.claimed_until > ctx.now()
    if command == "abort" and external_key is None and being_started:
        # The follower is handing it to the deployment system right now: aborting only here
        # would leave a deployment running there that nobody follows.
        raise Refused(f"{ref}'s deployment is being started right now: abort it in a moment.")
    if command == "continue" and status != port.NEEDS_USER_INTERVENTION:
        raise Refused(f"{ref}'s deployment does not wait for anyone: it is {status}.")
    if command in ("continue", "abort") and external_key:
        try:
            deployer = deployer_for(app.deployer, app.deployer_settings, ctx.deployer_secrets)
            if command == "continue":
                deployer.continue_(external_key)
            else:
                deployer.abort(external_key)
        except (DeployRefused, DeployerUnavailable) as error:
            log.warning("deployer %s %s %s failed: %s", app.deployer, command, ref, error.message)
            hint = (
                " If it will not end there, an approver can mark the deploy failed."
                if command == "abort"
                else ""
            )
            raise Refused(
                f"could not {command} {ref}'s deployment: {error.message}{hint}"
            ) from error
        log.info("deployer %s %s %s -> done", app.deployer, command, ref)

    def authorize(repository: Repository, hotfix: Hotfix) -> None:
        _require_steerer(repository, actor, hotfix, command)

    def apply(repository: Repository, hotfix: Hotfix, now: datetime) -> HotfixChange:
        found = _running_deployment(repository, hotfix, ref)
        row = repository.deployment(_id(found), for_update=True)
        assert row is not None
        if row.status in port.TERMINAL:
            raise Refused(f"{ref}'s deployment already finished.")
        app = repository.application(hotfix.application_id)
        row.stuck = False
        row.last_progress_at = now
        row.next_poll_at = now
        row.attempts = 0
        if command == "abort":
            row.status = port.ABORTED
            row.info = f"aborted by {actor.user_id}"
            row.finished_at = now
            repository.add(row)
            change = _back_to_open(hotfix, row, app)
            return HotfixChange(hotfix, app, change.kind, change.details)
        if command == "continue":
            row.status = port.RUNNING
        repository.add(row)
        kind = "deploy_continued" if command == "continue" else "deploy_retried"
        return HotfixChange(hotfix, app, kind, {"version": row.version})

    outcome: Outcome = runner.run(
        ctx,
        actor,
        lock=lambda repository: lock_hotfix(repository, hotfix_id),
        authorize=authorize,
        apply=apply,
        conflict=f"{ref}'s deployment was steered by someone else at the same moment: retry",
    )
    reached = {"abort": port.ABORTED, "continue": port.RUNNING}.get(command)
    if reached is not None:
        ctx.on_deployment_status(app.deployer, reached)
    return DeploymentNews(outcome.hotfix, (), outcome.event, outcome.work)


def _running_deployment(repository: Repository, hotfix: Hotfix, ref: str) -> Deployment:
    row = repository.latest_deployments([_id(hotfix)]).get(_id(hotfix))
    if HotfixState(hotfix.state) is not HotfixState.DEPLOYING or row is None:
        raise Refused(f"{ref} has no deployment running.")
    return row


def _require_steerer(repository: Repository, actor: Actor, hotfix: Hotfix, command: str) -> None:
    members = repository.members(hotfix.application_id)
    require_approver(actor, role_members(members, "approver"), None, f"{command} a deployment")


MAX_FAILURE_REASON = 500


def mark_deploy_failed(
    ctx: ServiceContext,
    actor: Actor,
    hotfix_ref: str,
    reason: str,
    *,
    request_key: str | None = None,
    origin_channel: str | None = None,
) -> Outcome:
    """An approver ends a deployment that the deployment system will not end (an unknown status,
    an abort it refuses, a follow that never concludes): the bot stops following it and the
    hotfix goes back to open and red, with Tag & Deploy offered again. Nothing is sent to the
    deployment system: whatever it still does there is for a person to check."""
    cleaned = _required_text(
        reason, "a reason: what happened to the deployment", MAX_FAILURE_REASON
    )
    hotfix_id = parse_hotfix_ref(hotfix_ref)
    ref = format_hotfix_ref(hotfix_id)

    def authorize(repository: Repository, hotfix: Hotfix) -> None:
        _running_deployment(repository, hotfix, ref)
        members = repository.members(hotfix.application_id)
        require_approver(
            actor, role_members(members, "approver"), None, "mark a deployment as failed"
        )

    def apply(repository: Repository, hotfix: Hotfix, now: datetime) -> HotfixChange:
        latest = _running_deployment(repository, hotfix, ref)
        row = repository.deployment(_id(latest), for_update=True)
        assert row is not None
        app = repository.application(hotfix.application_id)
        row.info = f"marked failed by {actor.user_id} (was {row.status}): {cleaned}"
        row.status = port.FAILED
        row.finished_at = now
        row.stuck = False
        row.claimed_by = None
        row.claimed_until = None
        repository.add(row)
        change = _back_to_open(hotfix, row, app)
        return HotfixChange(hotfix, app, change.kind, change.details)

    outcome: Outcome = runner.run(
        ctx,
        actor,
        lock=lambda repository: lock_hotfix(repository, hotfix_id),
        authorize=authorize,
        apply=apply,
        request_key=request_key,
        conflict=f"{ref}'s deployment was changed by someone else at the same moment: retry",
        origin_channel=origin_channel,
    )
    return outcome


# webhook callbacks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    message: str
    news: DeploymentNews | None = None


def receive_callback(
    ctx: ServiceContext, headers: Mapping[str, str], body: bytes, now_epoch: float
) -> CallbackAnswer:
    """A CI pipeline reports a webhook deployment's progress (POST /deployments/callback)."""
    secret = ctx.deployer_secrets.webhook_secret
    if not secret:
        return CallbackAnswer(503, "webhook deployments are not configured (DEPLOY_WEBHOOK_SECRET)")
    try:
        signature = verify(secret, headers, body, now_epoch)
    except BadSignature as error:
        return CallbackAnswer(401, str(error))
    try:
        result = parse_callback(body)
    except ValueError as error:
        return CallbackAnswer(400, str(error))
    with ctx.db.write() as repository:
        row = repository.deployment(result.deployment_id)
        if row is None or row.deployer != "webhook":
            return CallbackAnswer(404, f"unknown deployment hfd-{result.deployment_id}")
        key = f"webhook:{signature}"
        if repository.request_seen(key):
            return CallbackAnswer(409, "this callback was already received (replay refused)")
        repository.remember_request(key, ctx.now())
    progress = Progress(result.status, result.info, result.log)
    news = _record(ctx, result.deployment_id, progress, None, worker=None, incremental=True)
    return CallbackAnswer(200, "ok", news)


def _id(row: Any) -> int:
    identifier = row.id
    assert identifier is not None
    return int(identifier)
